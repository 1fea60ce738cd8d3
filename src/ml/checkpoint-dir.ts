import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { inputError } from '../core/errors.js';

async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems do not support fsync on directories; the rename is still atomic.
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a checkpoint folder atomically: the files are written and fsynced in a temporary folder next to
 * `dir`, which is then renamed into place. An existing checkpoint (a folder holding `marker`) is
 * replaced; any other non-empty folder is refused, so a wrong --out never destroys unrelated files.
 */
export async function writeCheckpointDir(
  dir: string,
  files: Record<string, string | Uint8Array>,
  options: { marker: string; what: string },
): Promise<void> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  if (await exists(target)) {
    if (!(await stat(target)).isDirectory()) {
      throw inputError(`${dir} exists and is not a directory`, 'choose another output path');
    }
    if (!(await exists(path.join(target, options.marker))) && (await readdir(target)).length > 0) {
      throw inputError(
        `${dir} exists and is not ${options.what}; refusing to overwrite it`,
        'choose another output directory or remove it',
      );
    }
  }
  await mkdir(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${base}.tmp-${suffix}`);
  const old = path.join(parent, `.${base}.old-${suffix}`);
  await mkdir(tmp);
  try {
    for (const [name, data] of Object.entries(files)) await writeFileSynced(path.join(tmp, name), data);
    await syncDir(tmp);
    if (await exists(target)) {
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    await syncDir(parent);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    if ((await exists(old)) && !(await exists(target))) await rename(old, target);
    throw error;
  }
}
