import { extname } from 'node:path';
import { inputError } from '../../core/errors.js';
import { demoDataset } from './demo.js';
import { loadHdf5Actions } from './hdf5.js';
import { loadNpyActions } from './npy.js';
import { DEFAULT_ACTION_DIM, type ActionDataset, type LoadOptions } from './types.js';
import { checkPositiveInt } from './validate.js';

/**
 * Loads actions from 'demo' (built-in synthetic data), a LIBERO/robomimic .hdf5/.h5 file, or an
 * .npy array. Throws RfsqError (exit code 2) with a hint for anything wrong with the input.
 */
export async function loadActions(source: string, options: LoadOptions = {}): Promise<ActionDataset> {
  if (options.numEpisodes !== undefined) checkPositiveInt(options.numEpisodes, '--num-episodes');
  const actionDim = options.actionDim ?? DEFAULT_ACTION_DIM;
  checkPositiveInt(actionDim, 'the action dimension');
  if (source === 'demo') {
    if (actionDim !== 7) {
      throw inputError(
        `The built-in demo dataset has 7-D actions, but ${actionDim} were requested`,
        'Use the default action dimension (7) with "demo", or load your own file.',
      );
    }
    return demoDataset({ numEpisodes: options.numEpisodes ?? 50, seed: options.seed ?? 0 });
  }
  const ext = extname(source).toLowerCase();
  const opts = { numEpisodes: options.numEpisodes, actionDim };
  if (ext === '.hdf5' || ext === '.h5') return loadHdf5Actions(source, opts);
  if (ext === '.npy') return loadNpyActions(source, opts);
  throw inputError(
    `Unsupported dataset "${source}": expected "demo", an .hdf5/.h5 file or an .npy file`,
    'Pass a LIBERO/robomimic .hdf5 file, an .npy array [episodes, steps, 7], or "demo".',
  );
}
