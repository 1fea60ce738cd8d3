/**
 * Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise (logs, CI, pipes),
 * so that a log file never fills with carriage returns.
 */
export class Progress {
  private lastPlain = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly interactive = stream.isTTY === true && !process.env.CI,
  ) {}

  update(fraction: number, label: string, details: string): void {
    if (this.interactive) {
      const width = 24;
      const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const columns = this.stream.columns ?? 100;
      this.stream.write(`\r${`${label} ${bar} ${details}`.slice(0, columns - 1)}\u001b[K`);
      this.drawn = true;
      return;
    }
    // Plain mode: at most one line per second, and always the last one.
    const now = Date.now();
    if (fraction >= 1 || now - this.lastPlain >= 1000) {
      this.lastPlain = now;
      this.stream.write(`${new Date().toISOString()} ${label} ${details}\n`);
    }
  }

  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
    : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
