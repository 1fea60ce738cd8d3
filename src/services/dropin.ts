import { existsSync, readFileSync } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import { writeFileAtomic } from './files.js';

/**
 * rfsq's drop-in tokenizer module (templates/pytorch/rfsq_robust.py) goes where the research code's
 * scripts import ActionRFSQAE from: `from phase1_improved.rfsq_robust import ActionRFSQAE`
 * (phase2_draft_retrain/modal_train_draft_with_projection.py:273), relative to the user's checkout.
 */
export const DROP_IN_PATH = path.join('phase1_improved', 'rfsq_robust.py');
/** src/services and dist/src/services both sit three folders below the package root. */
const DROP_IN_SOURCE = new URL('../../../templates/pytorch/rfsq_robust.py', import.meta.url);
const BACKUP_SUFFIX = '.orig';

/** missing: nothing there yet; same: already rfsq's module; different: another file (the research code's). */
export type DropInStatus = 'missing' | 'same' | 'different';

export function dropInTarget(checkout: string): string {
  return path.resolve(checkout, DROP_IN_PATH);
}

export function dropInStatus(checkout: string): DropInStatus {
  const target = dropInTarget(checkout);
  if (!existsSync(target)) return 'missing';
  return readFileSync(target, 'utf8') === readFileSync(DROP_IN_SOURCE, 'utf8') ? 'same' : 'different';
}

export interface DropInResult {
  file: string;
  status: DropInStatus;
  /** Where the replaced file was kept, if one was replaced. */
  backup: string | null;
}

/**
 * Puts the drop-in module into the checkout. A different file already there is replaced only with
 * `replace` (the user said yes or passed --force), and is kept next to it as rfsq_robust.py.orig.
 */
export async function installDropIn(checkout: string, replace: boolean): Promise<DropInResult> {
  let st;
  try {
    st = await stat(checkout);
  } catch {
    throw inputError(
      `--research-code ${checkout} does not exist`,
      'pass your checkout of Oscar-Ge/RVQExperiment',
    );
  }
  if (!st.isDirectory()) throw inputError(`--research-code ${checkout} is not a directory`);
  const file = dropInTarget(checkout);
  const status = dropInStatus(checkout);
  if (status === 'same') return { file, status, backup: null };
  let backup: string | null = null;
  if (status === 'different') {
    if (!replace) {
      throw inputError(
        `${file} exists and is not rfsq's drop-in module; refusing to overwrite it`,
        `pass --force to replace it (the original is kept as ${DROP_IN_PATH}${BACKUP_SUFFIX})`,
      );
    }
    backup = `${file}${BACKUP_SUFFIX}`;
    // An earlier backup is the research code's original: never replace it with a later file.
    if (!existsSync(backup)) await copyFile(file, backup);
  }
  await writeFileAtomic(file, readFileSync(DROP_IN_SOURCE));
  return { file, status, backup };
}
