import type { Command } from 'commander';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseChoice, parseFraction, parseInteger } from '../cli/parse.js';
import { Progress } from '../cli/progress.js';
import { PHASE2_DEFAULTS } from '../core/training-defaults.js';

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
  acceptRatio: string;
  backend: string;
  metricsOut?: string;
}

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
/** A rate with its 95% interval: tens of trials leave a wide one, and it should be seen. */
const rateWithInterval = (value: number, [lo, hi]: [number, number]) =>
  `${pct(value)} (95% CI ${(lo * 100).toFixed(1)}–${(hi * 100).toFixed(1)}%)`;

export function registerPhase3(program: Command): void {
  const phase3 = program
    .command('phase3')
    .description('Phase 3 of the miniature: closed-loop evaluation in the simulator');
  phase3
    .command('eval')
    .description('run the policy in the MuJoCo tasks, with and without speculative decoding')
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
      '--accept-ratio <r>',
      "speculative decoding accepts a draft token the main model rates at least r times as likely as its own choice; 1 is exact (output equals greedy's)",
      '1',
    )
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', 'auto')
    .option('--metrics-out <file>', 'write phase3.* metrics for `rfsq verify`')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq phase3 eval --policy runs/phase2/robust --tokenizer runs/phase1/robust --metrics-out m.json\n  rfsq phase3 eval --policy runs/phase2/naive --policy-tokenizer runs/phase1/naive --tokenizer runs/phase1/robust --train-missing',
    )
    .action(async (flags: Phase3Flags, command: Command) => {
      const options = globalOptions(command);
      const { evaluatePhase3 } = await import('../services/phase3.js');
      const progress = new Progress();
      const report = await evaluatePhase3({
        policy: flags.policy,
        tokenizer: flags.tokenizer,
        policyTokenizer: flags.policyTokenizer,
        trainMissing: flags.trainMissing === true,
        policyEpochs: flags.policyEpochs ? parseInteger(flags.policyEpochs, '--policy-epochs') : undefined,
        data: flags.data,
        trialsPerTask: parseInteger(flags.trials, '--trials'),
        seed: parseInteger(flags.seed, '--seed', 0),
        baseline: flags.baseline === true,
        acceptRatio: parseFraction(flags.acceptRatio, '--accept-ratio'),
        backend: parseChoice(flags.backend, '--backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
        metricsOut: flags.metricsOut,
        onTrial: (done, total) => progress.update(done / total, 'trials', `${done}/${total}`),
      });
      progress.done();
      if (options.json) return printJson(report);
      note(`backend: ${report.backend}`);
      const { speculative: spec, greedy } = report;
      const lines = [
        `${report.trials} trials${report.decoderSwap ? ' (decoder swap: policy trained on other codes)' : ''}`,
        `success ${rateWithInterval(spec.successRate, spec.successInterval95)}, fine-grained ${rateWithInterval(spec.fineGrainedSuccessRate, spec.fineGrainedInterval95)}; per task: ${Object.entries(
          spec.perTask,
        )
          .map(([task, rate]) => `${task} ${pct(rate)}`)
          .join(', ')}`,
        `speculative (${spec.acceptRatio === 1 ? 'exact' : `accept ratio ${spec.acceptRatio}`}): acceptance ${pct(spec.acceptanceRate)} of draft layers, ${spec.mainPassesPerChunk.toFixed(2)} main passes (${spec.mainRowsPerChunk.toFixed(2)} rows) + ${spec.draftPassesPerChunk} draft pass per chunk, inference p50 ${spec.inferenceMs.p50.toFixed(2)} ms, p95 ${spec.inferenceMs.p95.toFixed(2)} ms`,
        `  token agreement with the draft per layer: ${spec.tokenAgreement.map(pct).join(', ')}; chunks equal to greedy's: ${pct(spec.greedyChunkMatch)} (tokens ${pct(spec.greedyTokenMatch)})`,
        `greedy:      ${greedy.mainPassesPerChunk.toFixed(2)} main passes (${greedy.mainRowsPerChunk.toFixed(2)} rows) per chunk, inference p50 ${greedy.inferenceMs.p50.toFixed(2)} ms, p95 ${greedy.inferenceMs.p95.toFixed(2)} ms; success ${pct(greedy.successRate)}`,
        `  (a pass is one sequential main-model step; on this CPU time follows rows, not passes)`,
      ];
      if (report.ownDecoder) {
        const own = report.ownDecoder;
        lines.push(
          `decoder swap: greedy success ${pct(greedy.successRate)} with this decoder, ${pct(own.successRate)} with the decoder the policies were trained on (fine-grained ${pct(greedy.fineGrainedSuccessRate)} vs ${pct(own.fineGrainedSuccessRate)}): the mismatch costs ${((own.successRate - greedy.successRate) * 100).toFixed(1)} points`,
        );
      }
      if (flags.metricsOut) lines.push(`Metrics written to ${flags.metricsOut}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
