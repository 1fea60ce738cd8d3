import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach } from 'vitest';

/**
 * A real terminal for end-to-end tests: the built binary runs in a tmux pane (a real pty, with ink's
 * raw-mode input), keys go in with send-keys and the screen comes back with capture-pane. CI installs
 * tmux (.ci/run). A private server socket per test keeps the test away from any tmux the user runs,
 * and from a server still shutting down after the previous test's kill-server.
 */
export function tmuxPerTest() {
  const session = 'rfsq';
  let testIndex = 0;
  let socket = '';
  beforeEach(() => {
    socket = `rfsq-test-${process.pid}-${++testIndex}`;
  });
  afterEach(() => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone: the command ended and took the session with it.
    }
  });
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  return {
    tmux,
    /** The visible screen. */
    screen: () => tmux('capture-pane', '-p', '-t', session),
    /** The screen and everything scrolled above it. */
    history: () => tmux('capture-pane', '-p', '-S', '-', '-t', session),
    keys: (...keys: string[]) => tmux('send-keys', '-t', session, ...keys),
    /** Starts `command` in a detached pane; `sleep` keeps the final screen readable after it ends. */
    start: (command: string, rows: number, columns = 100) =>
      tmux(
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        String(columns),
        '-y',
        String(rows),
        `${command}; echo "exit=$?"; sleep 30`,
      ),
  };
}
