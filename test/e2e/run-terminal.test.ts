import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../helpers/cli.js';
import { tmuxPerTest } from '../helpers/tmux.js';

const { screen, history, start, keys } = tmuxPerTest();

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

/**
 * A project whose strategy B steps are small node scripts: phase1-train prints a line every 50 ms and
 * waits for a `go` file, so the live view is up (spinner, log tail, checklist) for as long as a test needs.
 */
function project(): string {
  const dir = tempDir();
  writeFileSync(
    path.join(dir, 'step.mjs'),
    `import { existsSync } from 'node:fs';
let n = 0;
const finish = () => { console.log('RFSQ_METRIC phase1.robust_mse 0.01'); process.exit(0); };
// Like a trainer finishing its epoch: SIGTERM ends the step only after a while, the view still up.
process.on('SIGTERM', () => setTimeout(() => process.exit(143), 1500));
if (process.argv[2] === 'train') setInterval(() => { console.log('epoch ' + ++n); if (existsSync('go')) finish(); }, 50);
else finish();
`,
  );
  const step = (id: string) => ({
    title: `step ${id}`,
    command: [process.execPath, 'step.mjs', id],
    expectedMetrics: ['phase1.robust_mse'],
  });
  writeFileSync(
    path.join(dir, 'rfsq.config.json'),
    `${JSON.stringify(
      {
        version: 1,
        template: 'local',
        runner: 'local',
        steps: {
          'phase1-train': step('train'),
          'phase1-compare': step('compare'),
          'phase3-swap': step('swap'),
        },
      },
      null,
      2,
    )}\n`,
  );
  return dir;
}

const runCommand = (dir: string) =>
  `cd ${dir} && env -u CI RFSQ_CONFIG_DIR=${tempDir()} ${process.execPath} ${BIN} run --strategy B --yes`;

const count = (text: string, part: string) => text.split(part).length - 1;

describe('the live run view in a real terminal (tmux)', () => {
  it.each([50, 24])(
    'Ctrl-C leaves a clean screen at %i rows: the notice once, no stale spinner line, one checklist',
    async (rows) => {
      const dir = project();
      start(runCommand(dir), rows);
      await expect.poll(screen, { timeout: 120_000 }).toMatch(/│ epoch \d+/);
      keys('C-c');
      await expect.poll(screen, { timeout: 120_000 }).toContain('exit=130');
      const all = history();
      expect(count(all, 'interrupting: stopping the running step')).toBe(1);
      expect(count(all, 'rfsq run · Ctrl-C stops the running step')).toBe(1);
      expect(all.split('\n').filter((line) => SPINNER.test(line))).toEqual([]);
      // The live checklist goes when the run ends; the final table is the only one left.
      expect(count(all, 'Robust held-out MSE')).toBe(1);
      expect(all).toMatch(/interrupted +phase1-train/);
    },
  );

  it('keeps the last good checklist while rfsq.config.json is briefly invalid, and recovers', async () => {
    const dir = project();
    const configFile = path.join(dir, 'rfsq.config.json');
    const config = readFileSync(configFile, 'utf8');
    start(runCommand(dir), 50);
    await expect.poll(screen, { timeout: 120_000 }).toMatch(/│ epoch \d+/);
    expect(screen()).toContain('Robust held-out MSE');
    // An editor saving mid-run: the file is half written for a moment.
    writeFileSync(configFile, config.slice(0, 40));
    await expect.poll(screen, { timeout: 120_000 }).toContain('checklist not refreshed');
    const broken = screen();
    expect(broken).toContain('Robust held-out MSE');
    expect(broken).toMatch(/│ epoch \d+/);
    writeFileSync(configFile, config);
    await expect.poll(screen, { timeout: 120_000 }).not.toContain('checklist not refreshed');
    writeFileSync(path.join(dir, 'go'), '');
    // The run's end offers the report; Enter takes the first choice, yes.
    await expect.poll(screen, { timeout: 120_000 }).toContain('Write the report of this run');
    keys('Enter');
    await expect.poll(screen, { timeout: 120_000 }).toContain('exit=0');
    const all = history();
    expect(all).toMatch(/succeeded +phase3-swap/);
    expect(all).toContain('Report written to');
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toContain('<svg');
    expect(all).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });
});
