/**
 * `npm run bench:phase2`: the Phase 2 main model's training step and epoch, rfsq (TensorFlow.js
 * WebAssembly) against the same model trained the same way in PyTorch (bench/pytorch_phase2.py): PyTorch
 * with OpenBLAS (Debian's libopenblas0-pthread, selected for that process only with LD_LIBRARY_PATH) is
 * the anchor, Debian's PyTorch as shipped (reference BLAS) runs beside it, labelled.
 *
 * Equal work: the miniature's main model (obsDim 26, width 128, 8 layers of 16 x 8 tokens and 7 levels:
 * 962k parameters), batch 64 observations (512 query rows), label smoothing 0.2, AdamW with warm-up and
 * cosine decay, the same epochs over the same rows (codes that depend on the observation and on the layer
 * before, so the model has something to learn). The three runs are real processes, interleaved round by
 * round; each ratio is the median of the per-round ratios, and the machine's load is printed with them.
 *
 *   npm run bench:phase2 [-- --rounds <n>] [-- --epochs <n>] [-- --train-rows <n>] [-- --json <file>]
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { loadAverage, measure, median } from './measure.js';
import { encodeNpy, readNpy } from '../src/ml/data/npy.js';
import { Prng } from '../src/ml/prng.js';
import { TOKENIZER_CODE_SHAPE, type PolicyDataset } from '../src/ml/policy/model.js';
import { PHASE2_DEFAULTS } from '../src/core/training-defaults.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = fileURLToPath(import.meta.url);
const PYTORCH_SCRIPT = path.join(ROOT, 'bench', 'pytorch_phase2.py');
const PYTHON = '/usr/bin/python3';
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const OBS_DIM = 26;

interface Args {
  rounds: number;
  epochs: number;
  trainRows: number;
  heldOutRows: number;
  json: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 2, epochs: 3, trainRows: 2560, heldOutRows: 512, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    const count = Number(value);
    if (flag === '--json' && value) args.json = value;
    else if (flag === '--rounds' && Number.isInteger(count) && count > 0) args.rounds = count;
    else if (flag === '--epochs' && Number.isInteger(count) && count > 0) args.epochs = count;
    else if (flag === '--train-rows' && Number.isInteger(count) && count >= 64) args.trainRows = count;
    else
      throw new Error(
        `bad flag ${String(flag)} ${String(value)}; use --rounds <n>, --epochs <n>, --train-rows <n ≥ 64> or --json <file>`,
      );
  }
  return args;
}

/** What one run reports (both implementations print this shape). */
interface RunReport {
  blas?: string[];
  threads?: number;
  steps: number;
  msPerStep: number;
  epochSeconds: number[];
  evalSeconds: number;
  trainLoss: number;
  heldOut: { teacherForced: number; freeRunning: number; givenCoarse: number };
}

/**
 * Codes that depend on the observation and on the layer before: code(n, j, l) = clamp(round(1.2 obs[n,
 * (j + l) mod obsDim] + 0.5 value(code(n, j, l - 1)) + 3), 0, 6), observations standard normal.
 */
function syntheticSet(count: number, seed: number): PolicyDataset {
  const { chunk, hidden, layers, levels } = TOKENIZER_CODE_SHAPE;
  const tokens = chunk * hidden;
  const mid = (levels - 1) / 2;
  const rng = new Prng(seed);
  const obs = Float32Array.from({ length: count * OBS_DIM }, () => rng.normal());
  const codes = new Int32Array(count * tokens * layers);
  for (let n = 0; n < count; n++)
    for (let j = 0; j < tokens; j++) {
      let previous = 0;
      for (let l = 0; l < layers; l++) {
        const u = 1.2 * (obs[n * OBS_DIM + ((j + l) % OBS_DIM)] as number) + 0.5 * previous;
        const c = Math.min(levels - 1, Math.max(0, Math.round(u + mid)));
        codes[(n * tokens + j) * layers + l] = c;
        previous = (c - mid) / mid;
      }
    }
  return { obs, codes, count };
}

async function writeSet(dir: string, name: string, set: PolicyDataset): Promise<void> {
  const { chunk, hidden, layers } = TOKENIZER_CODE_SHAPE;
  await writeFile(path.join(dir, `${name}-obs.npy`), encodeNpy(set.obs, [set.count, OBS_DIM]));
  await writeFile(
    path.join(dir, `${name}-codes.npy`),
    encodeNpy(set.codes, [set.count, chunk, hidden, layers]),
  );
}

async function readSet(dir: string, name: string): Promise<PolicyDataset> {
  const obs = (await readNpy(path.join(dir, `${name}-obs.npy`))).data as Float32Array;
  const codes = (await readNpy(path.join(dir, `${name}-codes.npy`))).data as Int32Array;
  return { obs, codes, count: obs.length / OBS_DIM };
}

/** `--worker <dir> <epochs> <threads>`: rfsq's training run, in its own process like the PyTorch ones. */
async function worker(dir: string, epochs: number, threads: number): Promise<void> {
  const { selectBackend } = await import('../src/ml/backend.js');
  const { trainPolicy } = await import('../src/ml/policy/train.js');
  const backend = await selectBackend('wasm');
  const train = await readSet(dir, 'train');
  const heldOut = await readSet(dir, 'held-out');
  const result = await trainPolicy({
    kind: 'main',
    train,
    heldOut,
    obsDim: OBS_DIM,
    epochs,
    batchSize: PHASE2_DEFAULTS.batchSize,
    lr: PHASE2_DEFAULTS.lr,
    labelSmoothing: PHASE2_DEFAULTS.labelSmoothing,
    seed: PHASE2_DEFAULTS.seed,
    threads,
  });
  const ends = result.history.map((h) => h.elapsedSeconds);
  const report: RunReport & { backend: string; params: number } = {
    backend,
    params: result.model.numParams,
    steps: result.steps,
    msPerStep: result.msPerStep,
    epochSeconds: ends.map((end, i) => end - (i === 0 ? 0 : (ends[i - 1] as number))),
    evalSeconds: result.seconds - (ends.at(-1) ?? 0),
    trainLoss: result.history.at(-1)?.trainLoss ?? Number.NaN,
    heldOut: {
      teacherForced: result.report.mainTokenAccTeacherForced,
      freeRunning: result.report.mainTokenAcc,
      givenCoarse: result.report.fineTokenAccGivenCoarse,
    },
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// A contender that could not run reports NaN: the median is over the rounds that did.
const finiteMedian = (values: number[]): number => median(values.filter(Number.isFinite));
const load = () => loadAverage();
const log = (message: string) => process.stderr.write(`[bench:phase2] ${message}\n`);

interface Contender {
  label: string;
  run: (dir: string, rss: string) => Promise<RunReport>;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--worker') return worker(argv[1] as string, Number(argv[2]), Number(argv[3]));
  const args = parseArgs(argv);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rfsq-bench-phase2-'));
  try {
    await writeSet(dir, 'train', syntheticSet(args.trainRows, 1));
    await writeSet(dir, 'held-out', syntheticSet(args.heldOutRows, 2));
    const torchArgs = [
      PYTORCH_SCRIPT,
      ...['--train-obs', path.join(dir, 'train-obs.npy'), '--train-codes', path.join(dir, 'train-codes.npy')],
      ...['--held-out-obs', path.join(dir, 'held-out-obs.npy')],
      ...['--held-out-codes', path.join(dir, 'held-out-codes.npy')],
      ...['--epochs', String(args.epochs), '--batch-size', String(PHASE2_DEFAULTS.batchSize)],
      ...['--lr', String(PHASE2_DEFAULTS.lr), '--label-smoothing', String(PHASE2_DEFAULTS.labelSmoothing)],
    ];
    const parse = (stdout: string) => JSON.parse(stdout) as RunReport;
    const torchRun =
      (env: NodeJS.ProcessEnv, label: string, wantOpenBlas: boolean, threads: number) =>
      async (_: string, rss: string) => {
        const argv = [...torchArgs, '--threads', String(threads)];
        const report = parse((await measure(PYTHON, argv, 'probe', rss, label, { env })).stdout);
        const openBlas = (report.blas ?? []).some((lib) => lib.includes('openblas'));
        if (openBlas !== wantOpenBlas)
          throw new Error(
            `${label} loaded ${report.blas?.join(', ') ?? 'no BLAS'}, not the BLAS it is labelled with`,
          );
        return report;
      };
    const rfsqRun = (threads: number) => async (_: string, rss: string) =>
      parse(
        (
          await measure(
            process.execPath,
            [SELF, '--worker', dir, String(args.epochs), String(threads)],
            'probe',
            rss,
            `rfsq, ${threads} thread${threads > 1 ? 's' : ''}`,
          )
        ).stdout,
      );
    const cores = os.availableParallelism();
    const contenders: Contender[] = [
      { label: 'rfsq (TensorFlow.js WebAssembly, 1 thread)', run: rfsqRun(1) },
    ];
    if (cores > 1)
      contenders.push({
        label: `rfsq (WebAssembly, 2 threads: half of each batch in a worker)`,
        run: rfsqRun(2),
      });
    const haveOpenBlas = existsSync(path.join(OPENBLAS_DIR, 'libblas.so.3'));
    // The anchor: what a user on this machine would train with, a real BLAS on every core, in PyTorch's
    // fastest configuration here: its own threads over every core and OpenBLAS single-threaded inside
    // them. Letting OpenBLAS start its own threads too puts two threads on each core (measured: 74 ms a
    // step against 34.5), so that configuration runs beside the anchor, labelled, and so does 1 thread.
    const openBlas = { LD_LIBRARY_PATH: OPENBLAS_DIR };
    if (haveOpenBlas)
      contenders.push(
        {
          label: `PyTorch + OpenBLAS (${cores} threads, BLAS 1 thread each)`,
          run: torchRun({ ...openBlas, OPENBLAS_NUM_THREADS: '1' }, 'PyTorch + OpenBLAS', true, cores),
        },
        {
          label: `PyTorch + OpenBLAS (${cores} threads, BLAS ${cores} threads each: oversubscribed)`,
          run: torchRun(
            { ...openBlas, OPENBLAS_NUM_THREADS: String(cores) },
            'PyTorch + OpenBLAS, oversubscribed',
            true,
            cores,
          ),
        },
        {
          label: 'PyTorch + OpenBLAS (1 thread)',
          run: torchRun({ ...openBlas, OPENBLAS_NUM_THREADS: '1' }, 'PyTorch + OpenBLAS, 1 thread', true, 1),
        },
      );
    else log(`no OpenBLAS in ${OPENBLAS_DIR}: apt-get install libopenblas0-pthread for the anchor`);
    contenders.push({
      label: `PyTorch, Debian's reference BLAS (${cores} threads)`,
      run: torchRun({}, 'PyTorch reference BLAS', false, cores),
    });

    const loadAtStart = load();
    log(
      `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores; load ${loadAtStart}`,
    );
    const results = contenders.map(() => [] as RunReport[]);
    for (let round = 1; round <= args.rounds; round++)
      for (const [i, contender] of contenders.entries()) {
        log(`round ${round}/${args.rounds}: ${contender.label}`);
        results[i]!.push(await contender.run(dir, path.join(dir, 'rss')));
      }
    const loadAtEnd = load();

    const anchor = haveOpenBlas
      ? contenders.findIndex((c) => c.label.startsWith('PyTorch + OpenBLAS'))
      : undefined;
    const ratio = (i: number, pick: (r: RunReport) => number) =>
      anchor === undefined
        ? Number.NaN
        : finiteMedian(results[i]!.map((r, round) => pick(r) / pick(results[anchor]![round]!)));
    const epoch = (r: RunReport) => finiteMedian(r.epochSeconds);
    const table = new Table({
      head: [
        '',
        'ms / step',
        '× anchor',
        's / epoch',
        '× anchor',
        'eval s',
        'held-out acc TF / free / given L0–L2',
      ],
      style: { head: [], border: [] },
    });
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    contenders.forEach((c, i) => {
      const runs = results[i]!;
      const last = runs.at(-1)!;
      table.push([
        c.label + (i === anchor ? ' (anchor)' : ''),
        finiteMedian(runs.map((r) => r.msPerStep)).toFixed(1),
        ratio(i, (r) => r.msPerStep).toFixed(2),
        finiteMedian(runs.map(epoch)).toFixed(2),
        ratio(i, epoch).toFixed(2),
        finiteMedian(runs.map((r) => r.evalSeconds)).toFixed(2),
        `${pct(last.heldOut.teacherForced)} / ${pct(last.heldOut.freeRunning)} / ${pct(last.heldOut.givenCoarse)}`,
      ]);
    });
    const steps = results[0]![0]!.steps;
    process.stdout.write(
      [
        `Phase 2 main model, ${args.trainRows} training rows (${steps / args.epochs} steps of 64 per epoch), ${args.epochs} epochs, ${args.heldOutRows} held-out rows; medians of ${args.rounds} interleaved rounds, ratios the median of per-round ratios.`,
        `Load average (1 / 5 / 15 min): ${loadAtStart} at the start, ${loadAtEnd} at the end, on ${os.availableParallelism()} cores.`,
        table.toString(),
        'ms / step: training steps only (batch assembly, forward, backward, optimizer). s / epoch: every step of one epoch. eval s: the held-out evaluation after training (teacher-forced, free-running, given L0–L2).',
      ].join('\n') + '\n',
    );
    if (args.json)
      await writeFile(
        args.json,
        JSON.stringify(
          {
            args,
            loadAtStart,
            loadAtEnd,
            contenders: contenders.map((c, i) => ({ label: c.label, runs: results[i] })),
          },
          null,
          2,
        ),
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
