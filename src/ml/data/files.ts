import { stat } from 'node:fs/promises';
import { inputError } from '../../core/errors.js';

/** Throws a clear error when `path` does not exist or is not a regular file. */
export async function assertReadableFile(path: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw inputError(
      `Dataset file not found: ${path}`,
      'Check the path (relative paths are resolved from the current directory), or use "demo" for the built-in synthetic dataset.',
    );
  }
  if (!isFile) {
    throw inputError(`${path} is not a file`, 'Pass the path of an .hdf5/.h5 or .npy file, not a directory.');
  }
}
