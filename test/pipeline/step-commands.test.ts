import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../src/pipeline/config.js';
import { fingerprintStep } from '../../src/pipeline/fingerprint.js';
import { jobScript } from '../../src/pipeline/slurm.js';
import { resolvePlan } from '../../src/services/run-plan.js';
import { tempDir } from './helpers.js';

const template = (name: string) => {
  const file = path.resolve('templates/pipeline', `${name}.json`);
  return parsePipelineConfig(JSON.parse(readFileSync(file, 'utf8')), file);
};

describe("a step's then-commands", () => {
  const step = {
    id: 's',
    argv: ['collect', '--x'],
    then: [['train', 'a b']],
    cwd: '/p',
    expectedMetrics: [],
  };

  it('run one after the other in the Slurm job, which stops at the first that fails (set -e)', () => {
    const lines = jobScript(step).trim().split('\n');
    expect(lines.slice(-2)).toEqual(['collect --x', "exec train 'a b'"]);
    expect(lines).toContain('set -eu');
  });

  it('count in the fingerprint, and a one-command step keeps the fingerprint it had', async () => {
    const dir = tempDir();
    const one = { id: 's', argv: ['collect'], cwd: dir, expectedMetrics: [] };
    expect(await fingerprintStep({ ...one, then: [] })).toBe(await fingerprintStep(one));
    expect(await fingerprintStep({ ...one, then: [['train']] })).not.toBe(await fingerprintStep(one));
  });
});

describe('variants', () => {
  it("switch every step that offers one to the plan's literal text", () => {
    const plan = resolvePlan(template('slurm'), 'A', '/p', ['plan-text']);
    expect(plan.steps.map((step) => step.argv.join(' '))).toEqual([
      'python train_rfsq_robust.py --use-layernorm True --num-episodes 50 --epochs 100',
      'python test_layernorm_improvement.py',
      'python train_openvla_rfsq.py --rfsq-checkpoint /models/rfsq_robust_best.pt --use-layernorm True',
      'python phase2_draft_retrain/modal_train_draft_with_projection.py --rfsq-checkpoint /models/rfsq_robust_best.pt --use-layernorm True',
      'python phase3/modal_phase3_libero_eval.py --num-trials 50 --use-speculative-decoding True',
    ]);
    expect(plan.steps.every((step) => step.then === undefined)).toBe(true);
  });

  it('take the repo trainer for Phase 1, after which the comparison it lacks cannot run', () => {
    const plan = resolvePlan(template('modal'), 'A', '/p', ['repo-trainer']);
    expect(plan.steps.map((step) => step.argv.join(' '))).toEqual([
      'modal run RVQExperiment/phase2_conditional/modal_train_rfsq_robust.py --epochs 100 --batch-size 64 --lr 0.001',
    ]);
    expect(plan.steps[0]?.metricMap).toEqual({
      train_best_mse: 'phase1.robust_mse',
      train_epoch_mse: 'phase1.robust_mse',
    });
    expect(plan.unavailable.map((step) => step.id)).toEqual([
      'phase1-compare',
      'phase2-main',
      'phase2-draft',
      'phase3-eval',
    ]);
    expect(plan.unavailable[0]?.reason).toMatch(/test_layernorm_improvement\.py is in no commit/);
  });

  it('every metric a template step maps is one it declares, and no map is shared between models', () => {
    for (const name of ['modal', 'slurm']) {
      for (const [id, step] of Object.entries(template(name).steps)) {
        for (const variant of [step!, ...Object.values(step!.variants ?? {})]) {
          const targets = new Set(Object.values(variant.metricMap ?? {}));
          for (const target of targets) expect(variant.expectedMetrics, `${name} ${id}`).toContain(target);
          if (id === 'phase2-main') expect([...targets]).toEqual(['phase2.main_token_acc']);
          if (id === 'phase2-draft') expect([...targets]).toEqual(['phase2.draft_coarse_acc']);
        }
      }
    }
  });
});

describe('metricMap keys', () => {
  it('must be keys an extractor yields: an old config that maps best_mse is told so', () => {
    const config = JSON.parse(readFileSync(path.resolve('templates/pipeline/modal.json'), 'utf8'));
    config.steps['phase2-main'].metricMap = { val_acc_avg: 'phase2.main_token_acc' };
    expect(() => parsePipelineConfig(config, 'rfsq.config.json')).toThrow(
      /rfsq.config.json: steps.phase2-main.metricMap.val_acc_avg: not an extractor key \(known: train_best_mse, .*main_best_acc/,
    );
  });
});
