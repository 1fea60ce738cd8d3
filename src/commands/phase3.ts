import type { Command } from 'commander';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseChoice, parseFraction, parseInteger, parseNumber } from '../cli/parse.js';
import { Progress } from '../cli/progress.js';
import { inputError } from '../core/errors.js';
import { formatPoints } from '../core/proportion.js';
import { PHASE2_DEFAULTS, PHASE3_DEFAULTS } from '../core/training-defaults.js';
import type { ArmReport, DecodingRequest } from '../services/phase3.js';

interface Phase3Flags {
  policy: string;
  tokenizer: string;
  policyTokenizer?: string;
  trainMissing?: boolean;
  policyEpochs?: string;
  data: string;
  trials: string;
  seed: string;
  baseline?: boolean;
  decode: string;
  depth?: string;
  actionEps?: string;
  jacobiInit?: string;
  jacobiEps?: string;
  acceptRatio?: string;
  versus?: string;
  versusPolicy?: string;
  versusTokenizer?: string;
  margin: string;
  backend: string;
  metricsOut?: string;
  resultsOut?: string;
}

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
const points = formatPoints;
/** A rate with its 95% interval: tens of trials leave a wide one, and it should be seen. */
const rateWithInterval = (value: number, [lo, hi]: [number, number]) =>
  `${pct(value)} (95% CI ${(lo * 100).toFixed(1)}–${(hi * 100).toFixed(1)}%)`;

/** The decoding flags, by their flag names without "--": from the command line or from a --versus spec. */
type DecodingFlags = Partial<
  Record<'decode' | 'depth' | 'action-eps' | 'jacobi-init' | 'jacobi-eps' | 'accept-ratio', string>
>;

export function parseDecoding(flags: DecodingFlags, prefix = '--'): DecodingRequest {
  const name = (key: string) => `${prefix}${key}`;
  const method = parseChoice(flags.decode ?? 'speculative', name('decode'), [
    'speculative',
    'greedy',
    'jacobi',
  ] as const);
  const request: DecodingRequest = { method };
  if (flags.depth !== undefined)
    request.depth = flags.depth.trim() === 'auto' ? 'auto' : parseInteger(flags.depth, name('depth'));
  if (flags['action-eps'] !== undefined) {
    if (request.depth !== 'auto')
      throw inputError(
        `${name('action-eps')} chooses the depth of ${name('depth')} auto`,
        `add ${name('depth')} auto`,
      );
    request.actionEps = parseNumber(flags['action-eps'], name('action-eps'), { min: 0 });
  }
  const jacobiOnly = (key: 'jacobi-init' | 'jacobi-eps') => {
    if (method !== 'jacobi')
      throw inputError(`${name(key)} applies to Jacobi decoding`, `add ${name('decode')} jacobi`);
  };
  if (flags['jacobi-init'] !== undefined) {
    jacobiOnly('jacobi-init');
    request.jacobiInit = parseChoice(flags['jacobi-init'], name('jacobi-init'), ['draft', 'middle'] as const);
  }
  if (flags['jacobi-eps'] !== undefined) {
    jacobiOnly('jacobi-eps');
    request.jacobiEps = parseNumber(flags['jacobi-eps'], name('jacobi-eps'), { min: 0 });
  }
  if (flags['accept-ratio'] !== undefined) {
    if (method !== 'speculative')
      throw inputError(
        `${name('accept-ratio')} applies to speculative decoding`,
        `add ${name('decode')} speculative`,
      );
    request.acceptRatio = parseFraction(flags['accept-ratio'], name('accept-ratio'));
  }
  return request;
}

/** `--versus "decode=greedy,depth=4"`: the same keys as the decoding flags. */
function parseVersus(spec: string): DecodingRequest {
  const keys = ['decode', 'depth', 'action-eps', 'jacobi-init', 'jacobi-eps', 'accept-ratio'] as const;
  const flags: DecodingFlags = {};
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, value] = part.includes('=') ? part.split('=', 2) : ['decode', part];
    const known = keys.find((k) => k === key!.trim());
    if (!known || value === undefined)
      throw inputError(
        `--versus "${spec}": "${part}" is not one of ${keys.map((k) => `${k}=…`).join(', ')}`,
        'e.g. --versus greedy or --versus decode=greedy,depth=4',
      );
    flags[known] = value.trim();
  }
  return parseDecoding(flags, '--versus ');
}

function describeArm(arm: ArmReport): string[] {
  const { fidelity } = arm;
  const draft = arm.draftPassesPerChunk > 0 ? ` + ${arm.draftPassesPerChunk.toFixed(2)} draft` : '';
  const lines = [
    `${arm.label}: success ${rateWithInterval(arm.successRate, arm.successInterval95)}, fine-grained ${rateWithInterval(arm.fineGrainedSuccessRate, arm.fineGrainedInterval95)}; per task ${Object.entries(
      arm.perTask,
    )
      .map(([task, rate]) => `${task} ${pct(rate)}`)
      .join(', ')}`,
    `  ${arm.mainPassesPerChunk.toFixed(2)} main passes (${arm.mainRowsPerChunk.toFixed(2)} rows)${draft} per chunk, inference p50 ${arm.inferenceMs.p50.toFixed(2)} ms, p95 ${arm.inferenceMs.p95.toFixed(2)} ms`,
    `  against greedy: ${arm.exact ? 'exact, ' : ''}${pct(fidelity.identicalChunks)} of chunks identical, max |Δa| p50 ${fidelity.maxAbsDelta.p50.toPrecision(2)}, p90 ${fidelity.maxAbsDelta.p90.toPrecision(2)}, p99 ${fidelity.maxAbsDelta.p99.toPrecision(2)} (normalized units)`,
  ];
  if (arm.acceptanceRate !== undefined && arm.tokenAgreement)
    lines.push(
      `  draft layers accepted ${pct(arm.acceptanceRate)}; token agreement with the draft per layer ${arm.tokenAgreement.map(pct).join(', ')}`,
    );
  if (arm.depthChoice) {
    const { actionEps, depth, table } = arm.depthChoice;
    lines.push(
      `  depth auto: ${depth}, the smallest whose held-out p99 chunk distance to full depth is ≤ ${actionEps} (p99 by depth: ${table.map((row) => `${row.depth}: ${row.p99.toPrecision(2)}`).join(', ')})`,
    );
  }
  return lines;
}

export function registerPhase3(program: Command): void {
  const phase3 = program
    .command('phase3')
    .description('Phase 3 of the miniature: closed-loop evaluation in the simulator');
  phase3
    .command('eval')
    .description('run the policy in the MuJoCo tasks, paired seed by seed with a second decoding or policy')
    .requiredOption('--policy <dir>', 'folder with main/ and draft/ from `rfsq phase2 train`')
    .requiredOption('--tokenizer <dir>', 'the tokenizer that decodes the predicted codes')
    .option(
      '--policy-tokenizer <dir>',
      'the tokenizer the policy was trained on, if another one (the decoder swap)',
    )
    .option('--train-missing', 'train, on the policy tokenizer, whichever of main and draft the folder lacks')
    .option(
      '--policy-epochs <n>',
      `epochs for policies trained with --train-missing (default ${PHASE2_DEFAULTS.epochs})`,
    )
    .option('--data <path|sim>', 'demonstrations used with --train-missing', 'sim')
    .option('--trials <n>', 'trials per task', '20')
    .option('--seed <n>', 'evaluation seed', '0')
    .option(
      '--baseline',
      'record the success rate as phase3.baseline_success_rate (the before-change evaluation)',
    )
    .option(
      '--decode <method>',
      "speculative (the plan's draft speculation), greedy (one pass per layer) or jacobi (all open layers in every pass, until a fixed point)",
      'speculative',
    )
    .option(
      '--depth <K|auto>',
      'greedy and jacobi: decode layers 0..K-1 only, the rest at the middle level; auto chooses K from the policy',
    )
    .option(
      '--action-eps <ε>',
      `--depth auto: the smallest K whose held-out p99 chunk distance to full depth is ≤ ε (normalized units; default ${PHASE3_DEFAULTS.actionEps})`,
    )
    .option('--jacobi-init <guess>', 'jacobi: the first guess, draft or middle (default draft)')
    .option(
      '--jacobi-eps <ε>',
      'jacobi: stop when a sweep moves the chunk by less than ε (default 0: the fixed point, equal to greedy)',
    )
    .option(
      '--accept-ratio <r>',
      'speculative: accept a draft token the main model rates at least r times as likely as its own choice; 1 (default) is exact',
    )
    .option(
      '--versus <spec>',
      'the decoding to pair with, e.g. greedy or decode=greedy,depth=4 (default: greedy; for a decoder swap or --versus-policy, the same decoding)',
    )
    .option('--versus-policy <dir>', 'pair with another policy folder (e.g. naive against Robust)')
    .option('--versus-tokenizer <dir>', 'the tokenizer that decodes the --versus-policy codes')
    .option(
      '--margin <points>',
      'non-inferiority margin, declared before the trials, in points of success (≤ 0)',
      String(PHASE3_DEFAULTS.margin * 100),
    )
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', 'auto')
    .option('--metrics-out <file>', 'write phase3.* metrics for `rfsq verify`')
    .option(
      '--results-out <file>',
      'also write the whole evaluation (what --json prints, with the tracks of the first trials), for `rfsq report`',
    )
    .addHelpText(
      'after',
      [
        '\nExamples:',
        '  rfsq phase3 eval --policy runs/phase2/robust --tokenizer runs/phase1/robust --metrics-out m.json',
        '  rfsq phase3 eval --policy runs/phase2/robust --tokenizer runs/phase1/robust --decode greedy --depth auto --trials 120',
        '  rfsq phase3 eval --policy runs/phase2/robust --tokenizer runs/phase1/robust --decode jacobi --versus speculative',
        '  rfsq phase3 eval --policy runs/phase2/robust --tokenizer runs/phase1/robust --decode greedy \\',
        '    --versus-policy runs/phase2/naive --versus-tokenizer runs/phase1/naive   # Robust against naive',
        '  rfsq phase3 eval --policy runs/phase2/naive --policy-tokenizer runs/phase1/naive --tokenizer runs/phase1/robust --train-missing',
      ].join('\n'),
    )
    .action(async (flags: Phase3Flags, command: Command) => {
      const options = globalOptions(command);
      const decoding = parseDecoding({
        decode: flags.decode,
        depth: flags.depth,
        'action-eps': flags.actionEps,
        'jacobi-init': flags.jacobiInit,
        'jacobi-eps': flags.jacobiEps,
        'accept-ratio': flags.acceptRatio,
      });
      const marginPoints = parseNumber(flags.margin, '--margin', { min: -100, max: 0 });
      if ((flags.versusPolicy === undefined) !== (flags.versusTokenizer === undefined))
        throw inputError(
          '--versus-policy and --versus-tokenizer go together',
          'pass the policy folder and the tokenizer that decodes its codes',
        );
      const versus = {
        ...(flags.versus !== undefined ? { decoding: parseVersus(flags.versus) } : {}),
        ...(flags.versusPolicy !== undefined ? { policy: flags.versusPolicy } : {}),
        ...(flags.versusTokenizer !== undefined ? { tokenizer: flags.versusTokenizer } : {}),
      };
      const trialsPerTask = parseInteger(flags.trials, '--trials');
      const seed = parseInteger(flags.seed, '--seed', 0);
      const policyEpochs = flags.policyEpochs
        ? parseInteger(flags.policyEpochs, '--policy-epochs')
        : undefined;
      const backend = parseChoice(flags.backend, '--backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const);
      const { evaluatePhase3 } = await import('../services/phase3.js');
      const progress = new Progress();
      const report = await evaluatePhase3({
        policy: flags.policy,
        tokenizer: flags.tokenizer,
        policyTokenizer: flags.policyTokenizer,
        trainMissing: flags.trainMissing === true,
        policyEpochs,
        data: flags.data,
        trialsPerTask,
        seed,
        baseline: flags.baseline === true,
        decoding,
        ...(Object.keys(versus).length > 0 ? { versus } : {}),
        margin: marginPoints / 100,
        backend,
        metricsOut: flags.metricsOut,
        resultsOut: flags.resultsOut,
        onTrial: (done, total) => progress.update(done / total, 'trials', `${done}/${total}`),
        // --train-missing trains for minutes before the first trial: say so, epoch by epoch.
        onInfo: (message) => {
          progress.done();
          note(message);
        },
        onEpoch: (label, epoch, epochs, loss) => {
          progress.update(
            epoch / epochs,
            `${label} policy epoch ${epoch}/${epochs}`,
            `loss ${loss.toFixed(4)}`,
          );
          if (epoch === epochs) progress.done();
        },
        onStage: (label, message) => progress.update(1, `${label} policy`, message),
      });
      progress.done();
      if (options.json) return printJson(report);
      note(`backend: ${report.backend}`);
      const { candidate, versus: other, comparison } = report;
      const lines = [
        `${report.trials} trials per arm, the same seeds for both${report.decoderSwap ? ' (decoder swap: policy trained on other codes)' : ''}`,
        ...describeArm(candidate),
        ...describeArm(other),
        `${candidate.label}: ${comparison.summary}`,
        `  fine-grained: Δ ${points(comparison.fineGrained.difference)} points, 95% CI ${points(comparison.fineGrained.interval95[0])} to ${points(comparison.fineGrained.interval95[1])} over ${comparison.fineGrained.trials} paired trials`,
        `  (a pass is one sequential main-model step; on this CPU time follows rows, not passes)`,
      ];
      if (flags.metricsOut) lines.push(`Metrics written to ${flags.metricsOut}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
