import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file through a temporary file in the same folder, fsynced, then renamed over the target, so
 * a reader (or a crash) never sees half a file.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const target = path.resolve(file);
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.tmp-${process.pid}-${Date.now()}`;
  // Errors name what the user gave (the target and its folder), not our temporary file.
  const handle = await open(temporary, 'w').catch((error: NodeJS.ErrnoException) => {
    throw Object.assign(error, { path: path.dirname(target) });
  });
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw Object.assign(error as NodeJS.ErrnoException, { path: target });
  }
}

/** writeFileAtomic of pretty-printed JSON. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}
