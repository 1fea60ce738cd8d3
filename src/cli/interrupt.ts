const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Turns the first Ctrl-C (or SIGTERM) into an AbortSignal, so that long work can stop cleanly, keep
 * what it saved and exit 130. A second Ctrl-C exits at once.
 *
 * Other listeners are removed first: conf's file writer (via when-exit) re-raises the signal on
 * itself, which would count as a second Ctrl-C and skip the clean stop. Nothing is being written
 * through conf while a long command runs.
 */
export function interruptSignal(
  doing: string,
  /**
   * Shows the notice. Default: a line on stderr. A live ink view must show it itself: a write behind
   * its back moves the cursor, and every later redraw leaves stale lines above it.
   */
  announce: (message: string) => void = (message) => process.stderr.write(`\n${message}\n`),
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    announce(`interrupting: ${doing} (Ctrl-C again to quit at once)`);
    controller.abort();
  };
  for (const signal of SIGNALS) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of SIGNALS) process.off(signal, onSignal);
    },
  };
}
