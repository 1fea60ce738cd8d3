import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, rfsq, tempDir } from '../helpers/cli.js';

/**
 * The modal and slurm templates against stand-ins for Oscar-Ge/RVQExperiment (commit d578ed2): a
 * stub `modal` that parses each script's local entrypoint as Modal's click does, and stub Slurm
 * scripts with the real argparse definitions. Both print the real scripts' lines (cited in the
 * stubs and in test/pipeline/extractors.test.ts), so these runs check the templates' flags against
 * the parsers and the metrics against what the scripts print.
 */
const STUBS = path.join(ROOT, 'test/e2e/stubs');
const MODAL = path.join(STUBS, 'modal');
const RVQ_STUBS = path.join(STUBS, 'rvq');
/** Phase 1 at its smallest: a few epochs of rfsq train on the embedded demo data. */
const FAST_PHASE1 = ['--var', 'phase1Epochs=4'];
const FAST_REPO = ['--var', 'epochs=12', '--var', 'phase2Epochs=10', '--var', 'numTrials=4'];

interface Decision {
  id: string;
  argv: string[];
  then?: string[][];
}

interface Item {
  id: string;
  status: string;
  value: unknown;
  note?: string;
  provenance?: string[];
}

function modalEnv(dir: string, extra: Record<string, string> = {}) {
  return {
    PATH: `${STUBS}:${process.env.PATH}`,
    MODAL_STUB_VOLUMES: path.join(dir, 'volumes'),
    MODAL_STUB_LOG: path.join(dir, 'modal-calls.log'),
    ...extra,
  };
}

function items(checklist: { items: Item[] }): Record<string, Item> {
  return Object.fromEntries(checklist.items.map((item) => [item.id, item]));
}

async function dryRun(dir: string, strategy: string, extra: string[] = []): Promise<Decision[]> {
  const result = await rfsq(['run', '--strategy', strategy, '--dry-run', '--json', ...extra], { cwd: dir });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout).decisions as Decision[];
}

const commandsOf = (decisions: Decision[]) =>
  decisions.flatMap((decision) => [decision.argv, ...(decision.then ?? [])]).map((argv) => argv.join(' '));

describe('the modal template runs the repo’s Modal scripts', () => {
  it('shows the real scripts with click-style flags in --dry-run, the volume put and get included', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'modal'], { cwd: dir });
    const commands = commandsOf(await dryRun(dir, 'C')).filter((command) => command.startsWith('modal'));
    expect(commands).toEqual([
      'modal volume put --force rsd-models runs/rfsq_robust_best.pt /rfsq_robust_best.pt',
      'modal run RVQExperiment/modal_phase3_libero_eval_FIXED_v2.py --task-suite libero_spatial --num-trials 50',
      'modal volume get --force rsd-results /libero_spatial_baseline_fixed_v2.json results/phase3-baseline.json',
      'modal run RVQExperiment/phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py --task-suite libero_spatial --num-trials 50 --use-speculative-decoding',
      'modal volume get --force rsd-results /libero_spatial_conditional_fixed_rsd.json results/phase3-swap.json',
      'modal run RVQExperiment/phase2_conditional/modal_train_phase2_conditional.py --num-episodes 200 --epochs 50 --skip-draft-training',
      'modal run RVQExperiment/phase2_draft_retrain/modal_train_draft_with_projection.py --num-episodes 200 --epochs 50',
      'modal run RVQExperiment/phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py --task-suite libero_spatial --num-trials 50 --use-speculative-decoding',
      'modal volume get --force rsd-results /libero_spatial_conditional_fixed_rsd.json results/phase3-eval.json',
    ]);
    // Phase 1 runs here on the user's data, and the export is the exact command of `rfsq export`.
    const phase1 = commandsOf(await dryRun(dir, 'A')).slice(0, 3);
    expect(phase1[0]).toMatch(/rfsq\.js train --variant both --data demo --epochs 20 --out runs\/phase1$/);
    expect(phase1[2]).toMatch(
      /rfsq\.js export --checkpoint runs\/phase1\/robust --format pt --out runs\/rfsq_robust_best\.pt$/,
    );
  });

  it("keeps the plan's literal commands as the plan-text variant, which the real parsers reject", async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'modal'], { cwd: dir });
    const decisions = await dryRun(dir, 'A', ['--variant', 'plan-text']);
    expect(decisions.map((decision) => decision.argv.join(' '))).toEqual([
      'modal run train_rfsq_robust.py --use-layernorm True --num-episodes 50 --epochs 100',
      'python test_layernorm_improvement.py',
      'modal run train_openvla_rfsq.py --rfsq-checkpoint /models/rfsq_robust_best.pt --use-layernorm True',
      'modal run phase2_draft_retrain/modal_train_draft_with_projection.py --rfsq-checkpoint /models/rfsq_robust_best.pt --use-layernorm True',
      'modal run phase3/modal_phase3_libero_eval.py --num-trials 50 --use-speculative-decoding True',
    ]);
    // The one plan command whose script exists: click has no --rfsq-checkpoint for its entrypoint.
    const draft = await execa(MODAL, decisions[3]!.argv.slice(1), { reject: false, env: modalEnv(dir) });
    expect(draft.exitCode).toBe(2);
    expect(draft.stderr).toBe('Error: No such option: --rfsq-checkpoint');
    // A bool parameter is a flag: a value after it is an extra argument, as Modal says.
    const spelledOut = await execa(
      MODAL,
      [
        'run',
        'RVQExperiment/phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py',
        '--use-speculative-decoding',
        'True',
      ],
      { reject: false, env: modalEnv(dir) },
    );
    expect(spelledOut.stderr).toBe('Error: Got unexpected extra argument (True)');
    const unknown = await rfsq(['run', '--strategy', 'A', '--dry-run', '--variant', 'nope'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(
      /no step of rfsq.config.json has a variant "nope"\nhint: variants here: plan-text, repo-trainer/,
    );
  });

  it('runs strategy C against the stub: every item the scripts can supply, from its own step and model', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'modal', ...FAST_PHASE1, ...FAST_REPO], { cwd: dir });
    const env = modalEnv(dir, {
      MODAL_STUB_FULL_EVAL: '1',
      MODAL_STUB_DRAFT_ACC: '0.915',
      MODAL_STUB_MAIN_ACC: '0.93',
    });
    const result = await rfsq(['run', '--strategy', 'C', '--continue-when-good', '--yes', '--json'], {
      cwd: dir,
      env,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.status).toBe('succeeded');
    const state = output.state;
    const byId = items(output.checklist);

    // Phase 1: held-out MSEs from rfsq compare, and the exported tokenizer put where the scripts read it.
    expect(byId['p1.mse']!.status).not.toBe('pending');
    expect(byId['p1.improvement']!.status).not.toBe('pending');
    expect(existsSync(path.join(dir, 'volumes/rsd-models/rfsq_robust_best.pt'))).toBe(true);
    expect(readFileSync(path.join(dir, 'volumes/rsd-models/rfsq_robust_best.pt'))).toEqual(
      readFileSync(path.join(dir, 'runs/rfsq_robust_best.pt')),
    );

    // Phase 2: the main model's own best accuracy, not the draft's; the draft's from the draft step.
    const main = state.steps['phase2-main'];
    expect(Object.keys(main.metrics)).toEqual(['phase2.main_token_acc']);
    const mainLog = readFileSync(main.logPath, 'utf8').split('\n');
    const mainLine = Number(main.metricSources['phase2.main_token_acc'].split(':').pop());
    expect(mainLog[mainLine - 1]).toMatch(/^ {0,3}✅ Conditional RFSQ Head (Best )?Accuracy: 0\.925/);
    expect(main.metricProvenance['phase2.main_token_acc']).toMatchObject({
      data: 'validation',
      epoch: 'best',
    });
    // The stub's best epoch (8 of 10: 0.925), not its last (0.920).
    expect(mainLog).toContain('  Val Loss: 0.1800 | Val Acc (avg): 0.920');
    expect(byId['p2.main_acc']!.value).toBe(0.925);
    const draft = state.steps['phase2-draft'];
    expect(Object.keys(draft.metrics)).toEqual(['phase2.draft_coarse_acc']);
    expect(draft.metricProvenance['phase2.draft_coarse_acc'].quote).toMatch(
      /^Best Validation Accuracy: 0\.91/,
    );
    expect(byId['p2.draft_acc']!.value).toBe(draft.metrics['phase2.draft_coarse_acc']);
    expect(byId['p2.main_vs_naive']!).toMatchObject({ status: 'pending' });
    expect(byId['p2.main_vs_naive']!.note).toMatch(
      /not measured by phase2-main: the repo trains no main model on naive codes/,
    );

    // Phase 3: from the results files fetched back from the volume; the baseline stays the baseline's.
    const baseline = state.steps['phase3-baseline'];
    expect(Object.keys(baseline.metrics)).toEqual(['phase3.baseline_success_rate']);
    expect(baseline.metricSources['phase3.baseline_success_rate']).toBe(
      `file:${path.join(dir, 'results/phase3-baseline.json')}`,
    );
    const evaluation = state.steps['phase3-eval'];
    const fetched = JSON.parse(readFileSync(path.join(dir, 'results/phase3-eval.json'), 'utf8'));
    expect(evaluation.metrics['phase3.success_rate']).toBe(fetched.final_success_rate);
    const fine = fetched.task_results.filter((task: { task_id: number }) =>
      [3, 4, 5, 7, 9].includes(task.task_id),
    );
    const fineRate =
      fine.reduce((sum: number, task: { successes: number }) => sum + task.successes, 0) /
      fine.reduce((sum: number, task: { episodes: number }) => sum + task.episodes, 0);
    expect(byId['p3.fine_grained']!.value).toBe(fineRate);
    expect(byId['p3.fine_grained']!.provenance?.[0]).toMatch(
      /fine-grained tasks: pick up the black bowl on the cookie box and place it on the plate; .*on the wooden cabinet/,
    );
    expect(byId['p3.inference_ms']!).toMatchObject({ status: 'pending', value: null });
    expect(byId['p3.inference_ms']!.note).toMatch(
      /not measured by phase3-swap, phase3-eval: the repo's Modal evaluation times nothing/,
    );

    // Every modal call was one the stub's click parser accepted (a rejected one would have failed the run).
    const calls = readFileSync(path.join(dir, 'modal-calls.log'), 'utf8').trim().split('\n');
    expect(calls).toHaveLength(9);
  });

  it('labels the repo trainer’s MSE as training MSE: the held-out item stays pending and says why', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'modal', ...FAST_REPO], { cwd: dir });
    const run = await rfsq(
      ['run', '--strategy', 'A', '--only', 'phase1-train', '--variant', 'repo-trainer', '--yes'],
      { cwd: dir, env: modalEnv(dir) },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const verify = await rfsq(['verify', '--json'], { cwd: dir });
    const byId = items(JSON.parse(verify.stdout));
    // The stub's best epoch is 9 of 12, not the last.
    expect(byId['p1.trained']!).toMatchObject({ status: 'pass', value: 0.016163 });
    expect(byId['p1.mse']!).toMatchObject({ status: 'pending', value: 0.016163 });
    expect(byId['p1.mse']!.note).toBe(
      'phase1.robust_mse is a figure on the training data; this item needs held-out data (rfsq train / rfsq compare measure it)',
    );
    expect(byId['p1.mse']!.provenance?.[0]).toMatch(
      /^phase1\.robust_mse: training data, best epoch, training-batch average over all the data, best epoch 9; log:.*phase1-train\.log:\d+ "Best MSE: 0\.016163 \(at epoch 9\)"$/,
    );
    const table = await rfsq(['verify'], { cwd: dir });
    expect(table.stdout).toMatch(/Sources:\n {2}p1\.trained: phase1\.robust_mse: training data, best epoch/);
  });

  it('ends as incomplete (exit 3) when a step reports none of its metrics, naming them and the step', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'modal', ...FAST_REPO], { cwd: dir });
    const file = path.join(dir, 'rfsq.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    // A user's edit: the head training is skipped, so the script prints no main-model accuracy.
    config.steps['phase2-main'].command.push('--skip-rfsq-head-training');
    writeFileSync(file, JSON.stringify(config));
    writeFileSync(path.join(dir, 'tokenizer.pt'), 'a tokenizer for the stub volume\n');
    await execa(MODAL, ['volume', 'put', 'rsd-models', 'tokenizer.pt', '/rfsq_robust_best.pt'], {
      cwd: dir,
      env: modalEnv(dir),
    });
    const result = await rfsq(['run', '--strategy', 'A', '--only', 'phase2-main', '--yes'], {
      cwd: dir,
      env: modalEnv(dir),
    });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/run incomplete: phase2-main reported none of its metrics/);
    expect(result.stderr).toMatch(
      /run incomplete: phase2-main \(unverified\) should have reported phase2\.main_token_acc; see each step's log/,
    );
  });
});

describe('the slurm template runs the repo’s Slurm scripts', () => {
  /** A project whose ${repo} is the stub scripts, run here (runner local) with the argv Slurm would run. */
  async function slurmProject() {
    const dir = tempDir();
    await rfsq(
      [
        'init',
        '--template',
        'slurm',
        '--var',
        `repo=${RVQ_STUBS}`,
        '--var',
        'python=/usr/bin/python3',
        '--var',
        'modelDir=models',
        '--var',
        'dataDir=data',
        ...FAST_PHASE1,
        ...FAST_REPO,
      ],
      { cwd: dir },
    );
    return dir;
  }

  it('shows argparse flags with underscores where the scripts use them, and no value for type=bool', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'slurm'], { cwd: dir });
    const commands = commandsOf(await dryRun(dir, 'C')).slice(2);
    const scripts = 'RVQExperiment/slurm/scripts';
    expect(commands).toEqual([
      expect.stringMatching(
        /rfsq\.js export --checkpoint runs\/phase1\/robust --format pt --out RVQExperiment\/models\/rfsq_robust_best\.pt$/,
      ),
      `python ${scripts}/evaluate_openvla_baseline.py --task-suite libero_spatial --num-trials 50 --results-dir results/phase3-baseline --log-dir logs --no-videos --device cuda`,
      `python ${scripts}/evaluate_phase3_rsd.py --task-suite libero_spatial --num-trials 50 --rfsq-model RVQExperiment/models/rfsq_robust_best.pt --draft-model RVQExperiment/models/best_draft_with_projection.pt --main-model RVQExperiment/models/openvla_rfsq_conditional/best_rfsq_head.pt --results-dir results/phase3-swap --log-dir logs --device cuda`,
      `python ${scripts}/collect_phase2_data.py --num-episodes 200 --rfsq-model RVQExperiment/models/rfsq_robust_best.pt --output-path RVQExperiment/data/phase2_training_data.pt --task-suite libero_spatial --device cuda`,
      `python ${scripts}/train_phase2_conditional.py --data_path RVQExperiment/data/phase2_training_data.pt --epochs 50 --batch_size 32 --learning_rate 0.0001 --model_dir RVQExperiment/models --log_dir logs --train_conditional_only --device cuda`,
      `python ${scripts}/train_phase2_conditional.py --data_path RVQExperiment/data/phase2_training_data.pt --epochs 50 --batch_size 32 --learning_rate 0.0001 --model_dir RVQExperiment/models --log_dir logs --train_draft_only --device cuda`,
      `python ${scripts}/evaluate_phase3_rsd.py --task-suite libero_spatial --num-trials 50 --rfsq-model RVQExperiment/models/rfsq_robust_best.pt --draft-model RVQExperiment/models/best_draft_with_projection.pt --main-model RVQExperiment/models/openvla_rfsq_conditional/best_rfsq_head.pt --results-dir results/phase3-eval --log-dir logs --device cuda`,
    ]);
    // type=bool: `--use_layernorm False` would parse as True, so no command passes a bool a value.
    for (const command of commands) expect(command).not.toMatch(/ (True|False)\b/);
  });

  it('the stub scripts parse bools as argparse type=bool does: "False" is True', () => {
    const parsed = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys; sys.argv = ["x", "--use_layernorm", "False"]; ' +
          `sys.path.insert(0, ${JSON.stringify(path.join(RVQ_STUBS, 'slurm/scripts'))}); ` +
          'import train_phase1_rfsq as t; print(t.parse_args().use_layernorm)',
      ],
      { encoding: 'utf8' },
    );
    expect(parsed.trim()).toBe('True');
  });

  it('runs strategy C through the stub scripts: every metric from its own step and model, with its source', async () => {
    const dir = await slurmProject();
    const file = path.join(dir, 'rfsq.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    // Run the job commands here; the scheduler itself is tested in test/pipeline and test/slurm.
    config.runner = 'local';
    writeFileSync(file, JSON.stringify(config));
    const result = await rfsq(['run', '--strategy', 'C', '--continue-when-good', '--yes', '--json'], {
      cwd: dir,
      env: { RVQ_STUB_MAIN_ACC: '0.93', RVQ_STUB_DRAFT_ACC: '0.915' },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);
    const state = output.state;
    const byId = items(output.checklist);
    expect(state.steps['phase2-main'].metrics).toEqual({ 'phase2.main_token_acc': 0.925 });
    expect(state.steps['phase2-main'].metricProvenance['phase2.main_token_acc'].quote).toBe(
      '✅ Conditional RFSQ Head Accuracy: 0.925 (target: >92%)',
    );
    expect(state.steps['phase2-draft'].metrics).toEqual({ 'phase2.draft_coarse_acc': 0.91 });
    expect(Object.keys(state.steps['phase3-baseline'].metrics)).toEqual(['phase3.baseline_success_rate']);
    const results = JSON.parse(
      readFileSync(path.join(dir, 'results/phase3-eval/libero_spatial_rsd_results.json'), 'utf8'),
    );
    expect(byId['p3.success']!.value).toBe(results.final_success_rate);
    expect(byId['p3.inference_ms']!.value).toBeCloseTo(3.1 + 6.4 + 0.7, 10);
    expect(byId['p3.inference_ms']!.provenance?.[0]).toMatch(/the OpenVLA forward pass is not timed/);
    expect(byId['p3.fine_grained']!.status).not.toBe('pending');
    expect(byId['p2.main_vs_naive']!.note).toMatch(/not measured by phase2-main/);

    // `rfsq verify --metrics` reads the same results file with the same code as the run did.
    const fromFile = await rfsq(
      [
        'verify',
        '--json',
        '--dir',
        tempDir(),
        '--metrics',
        path.join(dir, 'results/phase3-eval/libero_spatial_rsd_results.json'),
      ],
      { cwd: dir },
    );
    const verified = items(JSON.parse(fromFile.stdout));
    expect(verified['p3.success']!.value).toBe(results.final_success_rate);
    expect(verified['p3.inference_ms']!.value).toBe(byId['p3.inference_ms']!.value);
    const withProject = items(
      JSON.parse(
        (
          await rfsq(
            [
              'verify',
              '--json',
              '--metrics',
              path.join(dir, 'results/phase3-eval/libero_spatial_rsd_results.json'),
            ],
            {
              cwd: dir,
            },
          )
        ).stdout,
      ),
    );
    expect(withProject['p3.fine_grained']!.value).toBe(byId['p3.fine_grained']!.value);
  });
});
