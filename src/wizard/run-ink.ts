import { render } from 'ink';
import type { ReactElement } from 'react';
import { ExitCode, RfsqError } from '../core/errors.js';

/**
 * Renders an ink flow that reports one answer, then unmounts it. Ctrl-C rejects, so that the
 * command exits 130 like every interrupted command.
 */
export async function promptWith<T>(build: (resolve: (value: T) => void) => ReactElement): Promise<T> {
  let settle!: (value: T) => void;
  const answer = new Promise<T>((resolve) => {
    settle = resolve;
  });
  const app = render(
    build((value) => settle(value)),
    { exitOnCtrlC: true },
  );
  const exited = app.waitUntilExit().then(() => {
    throw new RfsqError('interrupted', { exitCode: ExitCode.interrupted });
  });
  const value = await Promise.race([answer, exited]);
  // Let the final state render before unmounting, so the screen never shows a stale prompt.
  await new Promise((resolve) => setTimeout(resolve, 30));
  app.unmount();
  return value;
}
