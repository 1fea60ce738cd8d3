import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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

/** writeFileAtomic for synchronous callers (small files such as the user's settings). */
export function writeFileAtomicSync(file: string, data: string): void {
  const target = path.resolve(file);
  mkdirSync(path.dirname(target), { recursive: true });
  const temporary = `${target}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The project's Prettier print width (.prettierrc), so that files rfsq writes into a clone pass its check. */
const PRINT_WIDTH = 110;

/**
 * JSON laid out as Prettier lays out a file of JSON.stringify(value, null, 2): objects one key a line,
 * an array of plain values on one line when it fits the print width, else one value a line.
 */
export function formatJson(value: unknown, indent = '', prefixWidth = 0): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const flat = value.every((item) => item === null || typeof item !== 'object');
    // The line also holds the key before the array and the comma after it.
    const inline = `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
    if (flat && indent.length + prefixWidth + inline.length + 1 <= PRINT_WIDTH) return inline;
    const inner = `${indent}  `;
    return `[\n${value.map((item) => `${inner}${formatJson(item, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const lines = entries.map(([key, item]) => {
      const label = `${JSON.stringify(key)}: `;
      return `${inner}${label}${formatJson(item, inner, label.length)}`;
    });
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** The text of a JSON file rfsq writes: formatJson and a final newline. */
export function jsonText(value: unknown): string {
  return `${formatJson(value)}\n`;
}

/** writeFileAtomic of JSON, formatted as the project's Prettier formats it. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, jsonText(value));
}
