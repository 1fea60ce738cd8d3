import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../helpers/cli.js';

/**
 * The interactive path in a real terminal: the built binary runs in a tmux pane (a real pty, with ink's
 * raw-mode input), keys go in with send-keys and the screen comes back with capture-pane. CI installs
 * tmux (.ci/run). A private server socket keeps the test away from any tmux the user runs.
 */
const SESSION = 'rfsq';
// A fresh server socket per test: a server still shutting down after kill-server would take a new session
// that reuses its socket down with it ("server exited unexpectedly").
let testIndex = 0;
let socket = '';
beforeEach(() => {
  socket = `rfsq-test-${process.pid}-${++testIndex}`;
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

const screen = () => tmux('capture-pane', '-p', '-t', SESSION);

/** Starts `command` in a detached 100-column pane; `sleep` keeps the final screen readable after it ends. */
function startInPane(command: string, rows: number): void {
  tmux(
    'new-session',
    '-d',
    '-s',
    SESSION,
    '-x',
    '100',
    '-y',
    String(rows),
    `${command}; echo "exit=$?"; sleep 30`,
  );
}

afterEach(() => {
  try {
    tmux('kill-server');
  } catch {
    // Already gone: the command ended and took the session with it.
  }
});

describe('the wizard in a real terminal (tmux)', () => {
  it('rfsq recommend asks for what the flags left out and answers', async () => {
    const configDir = tempDir();
    // Prompts appear only when CI is unset and stdin/stdout are terminals.
    startInPane(`env -u CI RFSQ_CONFIG_DIR=${configDir} ${process.execPath} ${BIN} recommend`, 40);
    await expect.poll(screen, { timeout: 15_000 }).toContain('How much time can you spend?');
    tmux('send-keys', '-t', SESSION, 'Down', 'Down', 'Down', 'Enter'); // 3–4 days
    await expect.poll(screen, { timeout: 10_000 }).toContain('How much did Robust RFSQ improve');
    tmux('send-keys', '-t', SESSION, 'Enter'); // enter the improvement in %
    await expect.poll(screen, { timeout: 10_000 }).toContain('Improvement in %');
    tmux('send-keys', '-t', SESSION, '-l', '44');
    tmux('send-keys', '-t', SESSION, 'Enter');
    await expect.poll(screen, { timeout: 10_000 }).toContain('exit=0');
    const final = screen();
    expect(final).toContain('Strategy A: full retrain');
    expect(final).toMatch(/Rule: +improvement > 40% \(44% measured\) and budget ≥ 3 days \(4d = 96 h\) → A/);
  }, 60_000);

  it('in CI the same command asks nothing: it names the flags to pass', async () => {
    startInPane(`env CI=true ${process.execPath} ${BIN} recommend`, 20);
    await expect.poll(screen, { timeout: 15_000 }).toMatch(/exit=2/);
    expect(screen()).toContain('error: the time budget is missing');
    expect(screen()).toContain('hint: pass --time-budget');
  }, 30_000);
});
