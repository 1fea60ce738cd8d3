/**
 * AdamW over float32 in WebAssembly SIMD (four values per instruction), for the Phase 2 policies' million
 * parameters. The JavaScript pass in src/ml/optimizer.ts (float64, one value at a time) costs about 20 ms
 * per step over the main model's 962k weights, a fifth of the whole step; this kernel makes the same update
 * in float32, the arithmetic PyTorch's AdamW does, at memory speed. The tokenizer keeps the JavaScript
 * pass: its 3k parameters cost microseconds, and its figures stay as they were measured.
 *
 * The parameters, gradients and both moments live in the kernel's own memory, shared (a SharedArrayBuffer)
 * so that a worker thread can read the weights and write its gradient there too. `params` and `grads` are
 * views of it: a trainer that adopts them (model.params = optimizer.params, gradients written into
 * optimizer.grads) pays no copy; any other arrays are copied in and the new weights copied back. With
 * `shards` 2 the gradient is the sum of two arrays (grads and shardGrads[1], two halves of a batch), summed
 * as the step reads them.
 */

import type { StepCheck } from './optimizer.js';

/** WebAssembly opcodes the kernel uses (the core and SIMD specifications' encodings). */
const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Or: 0x72,
  i32Shl: 0x74,
  simd: 0xfd,
} as const;
/** SIMD opcodes after the 0xfd prefix, as unsigned LEB128 bytes. */
const SIMD = {
  load: [0x00],
  store: [0x0b],
  f32x4Splat: [0x13],
  f32x4Eq: [0x41],
  i32x4AllTrue: [0xa3, 0x01],
  f32x4Sqrt: [0xe3, 0x01],
  f32x4Add: [0xe4, 0x01],
  f32x4Sub: [0xe5, 0x01],
  f32x4Mul: [0xe6, 0x01],
  f32x4Div: [0xe7, 0x01],
} as const;
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, contents: number[]): number[] {
  return [id, ...uleb(contents.length), ...contents];
}

// Function parameters, in order: byte offsets of the arrays (the second gradient's is read only with two
// shards), their padded length in bytes, then the update's constants (float32).
const P = 0;
const G = 1;
const G2 = 2;
const M = 3;
const V = 4;
const BYTES = 5;
const CONSTANTS = ['b1', 'c1', 'b2', 'c2', 'eps', 'decay', 'stepSize', 'sqrtBc2'] as const;
const CONSTANT_BASE = 6;
// Locals after the parameters: the byte index, the splatted constants, two NaN probes and four vectors.
const I = CONSTANT_BASE + CONSTANTS.length;
const SPLAT_BASE = I + 1;
const splat = (c: (typeof CONSTANTS)[number]) => SPLAT_BASE + CONSTANTS.indexOf(c);
const GRAD_PROBE = SPLAT_BASE + CONSTANTS.length;
const PARAM_PROBE = GRAD_PROBE + 1;
const GV = PARAM_PROBE + 1;
const MV = GV + 1;
const VV = MV + 1;
const PV = VV + 1;

/**
 * The module: imports its shared memory (`pages` of 64 KiB) as env.memory, exports step(p, g, g2, m, v,
 * bytes, b1, 1 - b1, b2, 1 - b2, eps, 1 - lr wd, lr / (1 - b1^t), sqrt(1 - b2^t)) -> bit 0: every gradient
 * finite, bit 1: every new weight finite. Per four values, with g the gradient (g + g2 with two shards),
 * PyTorch's order of operations (torch.optim.AdamW's single-tensor path; its addcmul_ and addcdiv_ kernels
 * compute self + (value t1) t2 and self + (value t1) / t2), each operation rounded to float32. A first
 * step is bit for bit PyTorch's; later ones drift by a few ulps, because PyTorch's CPU add_ with alpha
 * fuses its multiply-add (one rounding), which WebAssembly SIMD has no deterministic instruction for:
 *   m = m b1 + (1 - b1) g;  v = v b2 + ((1 - b2) g) g;  p = p (1 - lr wd) - (stepSize m) / (sqrt(v) / sqrtBc2 + eps)
 * The probes add x - x, which is 0 for a finite x and NaN otherwise, so one test at the end checks all.
 */
function moduleBytes(shards: 1 | 2, pages: number): Uint8Array {
  const get = (index: number) => [OP.localGet, ...uleb(index)];
  const set = (index: number) => [OP.localSet, ...uleb(index)];
  const simd = (op: readonly number[]) => [OP.simd, ...op];
  // memarg: alignment 2^4 = 16 bytes (a hint), offset 0.
  const load = (base: number) => [...get(base), ...get(I), OP.i32Add, ...simd(SIMD.load), 4, 0];
  const storeFrom = (base: number, value: number) => [
    ...get(base),
    ...get(I),
    OP.i32Add,
    ...get(value),
    ...simd(SIMD.store),
    4,
    0,
  ];
  const probe = (acc: number, value: number) => [
    ...get(acc),
    ...get(value),
    ...get(value),
    ...simd(SIMD.f32x4Sub),
    ...simd(SIMD.f32x4Add),
    ...set(acc),
  ];
  const body = [
    ...CONSTANTS.flatMap((c, k) => [...get(CONSTANT_BASE + k), ...simd(SIMD.f32x4Splat), ...set(splat(c))]),
    OP.block,
    0x40,
    OP.loop,
    0x40,
    ...get(I),
    ...get(BYTES),
    OP.i32GeU,
    OP.brIf,
    1,
    // g (+ g2)
    ...load(G),
    ...(shards === 2 ? [...load(G2), ...simd(SIMD.f32x4Add)] : []),
    ...set(GV),
    // m = m b1 + c1 g
    ...load(M),
    ...get(splat('b1')),
    ...simd(SIMD.f32x4Mul),
    ...get(splat('c1')),
    ...get(GV),
    ...simd(SIMD.f32x4Mul),
    ...simd(SIMD.f32x4Add),
    ...set(MV),
    ...storeFrom(M, MV),
    // v = v b2 + (c2 g) g
    ...load(V),
    ...get(splat('b2')),
    ...simd(SIMD.f32x4Mul),
    ...get(splat('c2')),
    ...get(GV),
    ...simd(SIMD.f32x4Mul),
    ...get(GV),
    ...simd(SIMD.f32x4Mul),
    ...simd(SIMD.f32x4Add),
    ...set(VV),
    ...storeFrom(V, VV),
    // p = p decay - (stepSize m) / (sqrt(v) / sqrtBc2 + eps)
    ...load(P),
    ...get(splat('decay')),
    ...simd(SIMD.f32x4Mul),
    ...get(splat('stepSize')),
    ...get(MV),
    ...simd(SIMD.f32x4Mul),
    ...get(VV),
    ...simd(SIMD.f32x4Sqrt),
    ...get(splat('sqrtBc2')),
    ...simd(SIMD.f32x4Div),
    ...get(splat('eps')),
    ...simd(SIMD.f32x4Add),
    ...simd(SIMD.f32x4Div),
    ...simd(SIMD.f32x4Sub),
    ...set(PV),
    ...storeFrom(P, PV),
    ...probe(GRAD_PROBE, GV),
    ...probe(PARAM_PROBE, PV),
    ...get(I),
    OP.i32Const,
    16,
    OP.i32Add,
    ...set(I),
    OP.br,
    0,
    OP.end,
    OP.end,
    // (all_true(gp == gp)) | (all_true(pp == pp) << 1)
    ...get(GRAD_PROBE),
    ...get(GRAD_PROBE),
    ...simd(SIMD.f32x4Eq),
    ...simd(SIMD.i32x4AllTrue),
    ...get(PARAM_PROBE),
    ...get(PARAM_PROBE),
    ...simd(SIMD.f32x4Eq),
    ...simd(SIMD.i32x4AllTrue),
    OP.i32Const,
    1,
    OP.i32Shl,
    OP.i32Or,
    OP.end,
  ];
  const vectorLocals = CONSTANTS.length + 2 + 4;
  const code = [...uleb(2), ...uleb(1), I32, ...uleb(vectorLocals), V128, ...body];
  const paramTypes = [I32, I32, I32, I32, I32, I32, ...CONSTANTS.map(() => F32)];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, ...uleb(paramTypes.length), ...paramTypes, 1, I32]),
    // A shared memory (limits flag 3) of exactly `pages` pages.
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(pages), ...uleb(pages)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('step'), 0x00, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

/** The part of the WebAssembly JavaScript API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => {
    buffer: SharedArrayBuffer;
  };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type StepFunction = (
  p: number,
  g: number,
  g2: number,
  m: number,
  v: number,
  bytes: number,
  ...constants: number[]
) => number;

/** Adam with decoupled weight decay (AdamW) in float32 WebAssembly SIMD; see the file's comment. */
export class SimdAdamW {
  /** Views of the kernel's memory: adopt them to skip the copies. */
  readonly params: Float32Array;
  /** The gradient of each shard (grads is shardGrads[0]); the step sums them. */
  readonly shardGrads: Float32Array[];
  private readonly moments: Float32Array;
  private readonly run: StepFunction;
  private readonly paddedBytes: number;
  private t = 0;

  constructor(
    readonly size: number,
    readonly shards: 1 | 2 = 1,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    // Each array padded to whole vectors; the padding stays 0 (a zero gradient keeps a zero weight zero).
    const padded = Math.ceil(size / 4) * 4;
    this.paddedBytes = padded * 4;
    // params, two gradients, two moments.
    const pages = Math.max(1, Math.ceil((5 * this.paddedBytes) / 65536));
    const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
    const instance = new wasm.Instance(new wasm.Module(moduleBytes(shards, pages)), { env: { memory } });
    this.run = instance.exports.step as StepFunction;
    const at = (slot: number, length = size) =>
      new Float32Array(memory.buffer, slot * this.paddedBytes, length);
    this.params = at(0);
    this.shardGrads = shards === 2 ? [at(1), at(2)] : [at(1)];
    this.moments = at(3, 2 * padded);
  }

  /** The gradient the step reads (the first shard's with two). */
  get grads(): Float32Array {
    return this.shardGrads[0] as Float32Array;
  }

  /**
   * One step. `params` and `grads` may be this optimizer's own views (no copy) or any arrays of `size`
   * values (copied in; the new weights are copied back into `params`). With two shards, `grads` is the
   * first shard's gradient and shardGrads[1] holds the second's.
   */
  step(params: Float32Array, grads: Float32Array, lr: number, weightDecay: number): StepCheck {
    if (params.length !== this.size || grads.length !== this.size)
      throw new RangeError(`SimdAdamW of ${this.size} values got ${params.length} and ${grads.length}`);
    if (params !== this.params) this.params.set(params);
    if (grads !== this.grads) this.grads.set(grads);
    this.t += 1;
    const { beta1: b1, beta2: b2 } = this;
    const bytes = this.paddedBytes;
    const flags = this.run(
      0,
      bytes,
      2 * bytes,
      3 * bytes,
      4 * bytes,
      bytes,
      b1,
      1 - b1,
      b2,
      1 - b2,
      this.eps,
      1 - lr * weightDecay,
      lr / (1 - Math.pow(b1, this.t)),
      Math.sqrt(1 - Math.pow(b2, this.t)),
    );
    if (params !== this.params) params.set(this.params);
    return { gradsFinite: (flags & 1) !== 0, paramsFinite: (flags & 2) !== 0 };
  }

  /** The first and second moments (views, for tests). */
  get state(): { m: Float32Array; v: Float32Array } {
    const padded = this.paddedBytes / 4;
    return {
      m: this.moments.subarray(0, this.size),
      v: this.moments.subarray(padded, padded + this.size),
    };
  }
}
