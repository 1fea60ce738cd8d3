import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';

describe('the miniature Phase 2 and 3 from the command line (built binary)', () => {
  it('collects demos, trains policies on codes and evaluates them in closed loop', async () => {
    const dir = tempDir();
    const demos = path.join(dir, 'demos.hdf5');
    const collect = await rfsq(['sim', 'collect', '--episodes-per-task', '4', '--out', demos, '--json']);
    expect(collect.exitCode).toBe(0);
    expect(JSON.parse(collect.stdout).episodes).toBe(16);

    const train = await rfsq(['train', '--data', demos, '--epochs', '3', '--out', path.join(dir, 'p1')]);
    expect(train.exitCode).toBe(0);

    const phase2Metrics = path.join(dir, 'p2.json');
    const phase2 = await rfsq([
      'phase2',
      'train',
      '--tokenizer',
      path.join(dir, 'p1/robust'),
      '--naive-tokenizer',
      path.join(dir, 'p1/naive'),
      '--data',
      demos,
      '--out',
      path.join(dir, 'p2/robust'),
      '--epochs',
      '2',
      '--metrics-out',
      phase2Metrics,
      '--json',
    ]);
    expect(phase2.stderr).not.toMatch(/^error/m);
    expect(phase2.exitCode).toBe(0);
    const report = JSON.parse(phase2.stdout);
    expect(report.main.perLayerFreeRunning).toHaveLength(8);
    expect(report.draft.perLayer).toHaveLength(3);
    // The naive main model trained side by side, in its own process, into <out>/../naive.
    expect(existsSync(path.join(dir, 'p2/naive/main/config.json'))).toBe(true);
    expect(report.naiveMain.perLayerFreeRunning).toHaveLength(8);
    expect(report.main.actionMse).toBeGreaterThan(0);
    expect(report.naiveMain.actionMse).toBeGreaterThan(0);
    expect(Object.keys(JSON.parse(readFileSync(phase2Metrics, 'utf8'))).sort()).toEqual([
      'phase2.draft_coarse_acc',
      'phase2.main_token_acc',
      'phase2.main_token_acc_naive',
    ]);

    const phase3Metrics = path.join(dir, 'p3.json');
    const phase3 = await rfsq([
      'phase3',
      'eval',
      '--policy',
      path.join(dir, 'p2/robust'),
      '--tokenizer',
      path.join(dir, 'p1/robust'),
      '--trials',
      '1',
      '--metrics-out',
      phase3Metrics,
      '--json',
    ]);
    expect(phase3.exitCode).toBe(0);
    const evaluation = JSON.parse(phase3.stdout);
    expect(evaluation.trials).toBe(4);
    // Speculative decoding returns the greedy codes, so success cannot differ between the two modes.
    expect(evaluation.speculative.successRate).toBe(evaluation.greedy.successRate);
    expect(evaluation.greedy.mainPassesPerChunk).toBe(8);
    // Four trials leave a wide interval around the rate, and the report carries it.
    const [low, high] = evaluation.speculative.successInterval95;
    expect(low).toBeLessThanOrEqual(evaluation.speculative.successRate);
    expect(high).toBeGreaterThanOrEqual(evaluation.speculative.successRate);
    expect(high - low).toBeGreaterThan(0.4);
    expect(evaluation.speculative.mainPassesPerChunk).toBeLessThanOrEqual(8);
    expect(evaluation.speculative.mainPassesPerChunk).toBeGreaterThanOrEqual(5);
    const metrics = JSON.parse(readFileSync(phase3Metrics, 'utf8'));
    expect(metrics['phase3.inference_ms']).toBeGreaterThan(0);
    expect(metrics['phase3.success_rate']).toBeGreaterThanOrEqual(0);

    // Strategy B's decoder swap: naive-trained policies decoded by the Robust decoder, and by their own.
    // --train-missing trains only the naive draft: the naive main model Phase 2 trained above is kept.
    const naiveMainConfig = path.join(dir, 'p2/naive/main/config.json');
    const naiveMainBefore = readFileSync(naiveMainConfig, 'utf8');
    expect(existsSync(path.join(dir, 'p2/naive/draft'))).toBe(false);
    const swap = await rfsq([
      'phase3',
      'eval',
      '--policy',
      path.join(dir, 'p2/naive'),
      '--policy-tokenizer',
      path.join(dir, 'p1/naive'),
      '--tokenizer',
      path.join(dir, 'p1/robust'),
      '--train-missing',
      '--policy-epochs',
      '1',
      '--data',
      demos,
      '--trials',
      '1',
      '--json',
    ]);
    expect(swap.exitCode).toBe(0);
    const swapped = JSON.parse(swap.stdout);
    expect(swapped.decoderSwap).toBe(true);
    expect(swapped.ownDecoder.chunks).toBeGreaterThan(0);
    expect(swapped.greedy.mainRowsPerChunk).toBe(8);
    expect(readFileSync(naiveMainConfig, 'utf8')).toBe(naiveMainBefore);
    expect(existsSync(path.join(dir, 'p2/naive/draft/config.json'))).toBe(true);

    const show = await rfsq(['sim', 'show', '--task', 'insert', '--seed', '3']);
    expect(show.stdout).toMatch(/insert seed 3: success/);
    expect(show.stdout).toContain('T');
  }, 240_000);

  it.each([
    [['sim', 'show', '--task', 'juggle'], /Unknown simulated task "juggle"/],
    [
      ['phase3', 'eval', '--policy', '/nonexistent', '--tokenizer', '/nonexistent'],
      /does not exist|no main and draft policies/,
    ],
    [['phase2', 'train', '--tokenizer', '/nonexistent'], /checkpoint directory \/nonexistent does not exist/],
    [
      ['phase2', 'train', '--tokenizer', 'x', '--label-smoothing', '1'],
      /--label-smoothing "1" must be a number ≥ 0 and ≤ 0.99/,
    ],
    [
      ['phase3', 'eval', '--policy', 'x', '--tokenizer', 'y', '--accept-ratio', '2'],
      /--accept-ratio "2" must be a fraction/,
    ],
  ])('rejects %j with exit 2', async (args, message) => {
    const result = await rfsq(args);
    expect(result.stderr).toMatch(message);
    expect(result.exitCode).toBe(2);
  });
});
