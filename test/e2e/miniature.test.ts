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
    // Nothing after the last epoch is silent (issue 16, item 5): each part of this process's evaluation, and
    // the side-by-side processes' epochs and evaluation, relayed under their own labels while we wait.
    expect(phase2.stderr).toMatch(
      / main {7}evaluating on \d+ held-out chunks 1\/4: teacher-forced accuracy$/m,
    );
    expect(phase2.stderr).toMatch(
      / main {7}evaluating on \d+ held-out chunks 4\/4: decoded-action error by depth$/m,
    );
    expect(phase2.stderr).toMatch(/ naive main epoch 2\/2 loss \d/m);
    expect(phase2.stderr).toMatch(
      / naive main evaluating on \d+ held-out chunks 2\/4: free-running decoding$/m,
    );
    expect(phase2.stderr).toMatch(/ draft {6}epoch 2\/2 loss \d/m);
    expect(phase2.stderr).toMatch(
      / draft {6}evaluating on \d+ held-out chunks 1\/1: coarse-layer proposals$/m,
    );
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
    // The default pairs the plan's speculation with greedy decoding on the same seeds: it returns the greedy
    // codes, so no chunk and no outcome can differ.
    expect(evaluation.candidate.decoding).toEqual({ method: 'speculative', acceptRatio: 1 });
    expect(evaluation.versus.decoding).toEqual({ method: 'greedy', depth: 8 });
    expect(evaluation.candidate.outcomes).toBe(evaluation.versus.outcomes);
    expect(evaluation.candidate.fidelity.identicalChunks).toBe(1);
    expect(evaluation.comparison.success).toMatchObject({ trials: 4, onlyA: 0, onlyB: 0, difference: 0 });
    expect(evaluation.comparison.success.mcnemarP).toBe(1);
    expect(evaluation.versus.mainPassesPerChunk).toBe(8);
    expect(evaluation.candidate.draftPassesPerChunk).toBe(1);
    // Four trials leave a wide interval around the rate, and the report carries it.
    const [low, high] = evaluation.candidate.successInterval95;
    expect(low).toBeLessThanOrEqual(evaluation.candidate.successRate);
    expect(high).toBeGreaterThanOrEqual(evaluation.candidate.successRate);
    expect(high - low).toBeGreaterThan(0.4);
    expect(evaluation.candidate.mainPassesPerChunk).toBeLessThanOrEqual(8);
    expect(evaluation.candidate.mainPassesPerChunk).toBeGreaterThanOrEqual(5);
    const metrics = JSON.parse(readFileSync(phase3Metrics, 'utf8'));
    expect(metrics['phase3.inference_ms']).toBeGreaterThan(0);
    expect(metrics['phase3.success_rate']).toBe(evaluation.candidate.successRate);

    // Phase 2 stored the depth table with the main model; --depth auto picks from it, and the text says so.
    const table = report.main.depthTable;
    expect(table.map((row: { depth: number }) => row.depth)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const robustArgs = ['--policy', path.join(dir, 'p2/robust'), '--tokenizer', path.join(dir, 'p1/robust')];
    const depthAuto = await rfsq([
      'phase3',
      'eval',
      ...robustArgs,
      '--decode',
      'greedy',
      '--depth',
      'auto',
      '--action-eps',
      '0.05',
      '--versus',
      'jacobi',
      '--trials',
      '1',
      '--json',
    ]);
    expect(depthAuto.exitCode).toBe(0);
    const auto = JSON.parse(depthAuto.stdout);
    const chosen = table.find((row: { p99: number }) => row.p99 <= 0.05).depth;
    expect(auto.candidate.depthChoice).toMatchObject({ actionEps: 0.05, depth: chosen });
    expect(auto.candidate.mainPassesPerChunk).toBe(chosen);
    expect(auto.candidate.mainRowsPerChunk).toBe(chosen);
    expect(auto.candidate.draftPassesPerChunk).toBe(0);
    // Jacobi to its fixed point is exact: every chunk equals greedy's, in at most 8 passes.
    expect(auto.versus.exact).toBe(true);
    expect(auto.versus.fidelity.identicalChunks).toBe(1);
    expect(auto.versus.mainPassesPerChunk).toBeLessThanOrEqual(8);
    expect(auto.versus.draftPassesPerChunk).toBe(1);
    const text = await rfsq([
      'phase3',
      'eval',
      ...robustArgs,
      '--decode',
      'greedy',
      '--depth',
      '2',
      '--trials',
      '1',
    ]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('greedy, depth 2: success');
    expect(text.stdout).toContain('2.00 main passes (2.00 rows) per chunk');
    expect(text.stdout).toMatch(
      /greedy, depth 2: (not distinguishable from|better than|worse than) greedy at 4 paired trials/,
    );
    expect(text.stdout).toMatch(
      /non-inferiority at a margin of −5\.0 points not shown|non-inferior at a margin/,
    );

    // Naive against Robust: two policies, each decoded by its own tokenizer, the same decoding and seeds. The
    // naive folder holds no draft yet: greedy decoding needs none.
    const policies = await rfsq([
      'phase3',
      'eval',
      ...robustArgs,
      '--decode',
      'greedy',
      '--versus-policy',
      path.join(dir, 'p2/naive'),
      '--versus-tokenizer',
      path.join(dir, 'p1/naive'),
      '--trials',
      '1',
      '--json',
    ]);
    expect(policies.exitCode).toBe(0);
    const pair = JSON.parse(policies.stdout);
    expect(pair.versus.policy).toBe(path.join(dir, 'p2/naive'));
    expect(pair.versus.decoding).toEqual(pair.candidate.decoding);
    expect(pair.candidate.label).toBe('greedy, robust');
    expect(pair.comparison.summary).toMatch(/ greedy, naive at 4 paired trials/);
    const { both, onlyA, onlyB, neither } = pair.comparison.success;
    expect(both + onlyA + onlyB + neither).toBe(4);

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
    // Training the missing policy takes minutes on the real template: it says so, epoch by epoch.
    expect(swap.stderr).toMatch(
      /training the missing draft policy in .*p2\/naive on .*p1\/naive's codes \(1 epoch\)/,
    );
    expect(swap.stderr).toMatch(/draft policy epoch 1\/1 loss \d/);
    const swapped = JSON.parse(swap.stdout);
    expect(swapped.decoderSwap).toBe(true);
    // Paired with the same policies and the same decoding through their own decoder, on the same seeds.
    expect(swapped.versus.tokenizer).toBe(path.join(dir, 'p1/naive'));
    expect(swapped.versus.decoding).toEqual(swapped.candidate.decoding);
    expect(swapped.versus.chunks).toBeGreaterThan(0);
    expect(swapped.comparison.success.trials).toBe(4);
    expect(swapped.metrics['phase3.swap_paired_delta']).toBeCloseTo(
      swapped.comparison.success.difference * 100,
      9,
    );
    expect(swapped.metrics['phase3.swap_paired_trials']).toBe(4);
    expect(readFileSync(naiveMainConfig, 'utf8')).toBe(naiveMainBefore);
    expect(existsSync(path.join(dir, 'p2/naive/draft/config.json'))).toBe(true);

    const show = await rfsq(['sim', 'show', '--task', 'insert', '--seed', '3']);
    expect(show.stdout).toMatch(/insert seed 3: success/);
    expect(show.stdout).toContain('T');
  });

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
    [['phase2', 'train', '--tokenizer', 'x', '--threads', '0'], /--threads "0" must be a whole number ≥ 1/],
    [
      ['phase3', 'eval', '--policy', 'x', '--tokenizer', 'y', '--accept-ratio', '2'],
      /--accept-ratio "2" must be a fraction/,
    ],
    [
      ['phase3', 'eval', '--policy', 'x', '--tokenizer', 'y', '--decode', 'greedy', '--accept-ratio', '0.5'],
      /--accept-ratio applies to speculative decoding/,
    ],
    [
      ['phase3', 'eval', '--policy', 'x', '--tokenizer', 'y', '--action-eps', '0.1'],
      /--action-eps chooses the depth of --depth auto/,
    ],
    [
      ['phase3', 'eval', '--policy', 'x', '--tokenizer', 'y', '--versus', 'decode=beam'],
      /--versus decode "beam" is not one of/,
    ],
    [
      ['phase3', 'eval', '--policy', 'x', '--tokenizer', 'y', '--margin', '5'],
      /--margin "5" must be a number ≥ -100 and ≤ 0/,
    ],
  ])('rejects %j with exit 2', async (args, message) => {
    const result = await rfsq(args);
    expect(result.stderr).toMatch(message);
    expect(result.exitCode).toBe(2);
  });
});
