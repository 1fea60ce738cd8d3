import { render } from 'ink-testing-library';
import type { ReactElement } from 'react';
import { act } from 'react';

// React's act() needs to know it runs in a test environment, or it warns on every call.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

type Stdin = { write: (data: string) => void };

/**
 * Renders inside act(), so the first frame's effects (the first prompt's input handler) are attached
 * when this returns.
 */
export async function renderReady(tree: ReactElement): Promise<ReturnType<typeof render>> {
  let app: ReturnType<typeof render> | undefined;
  await act(async () => {
    app = render(tree);
  });
  return app!;
}

/**
 * Sends keys one at a time. act() flushes the render each key causes and that render's effects before
 * the next key, so a key never reaches a prompt whose input handler is not attached yet, however busy
 * the machine is (a fixed sleep between keys lost keystrokes under load).
 */
export async function press(stdin: Stdin, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    await act(async () => {
      stdin.write(key);
    });
  }
}

export async function type(stdin: Stdin, text: string): Promise<void> {
  await press(stdin, ...text.split(''));
}
