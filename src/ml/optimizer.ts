// Optimizer and schedule shared by the tokenizer and the policy trainers.

/** What one step saw: whether every gradient it read, and every weight it wrote, is finite. */
export interface StepCheck {
  gradsFinite: boolean;
  paramsFinite: boolean;
}

/**
 * Adam with decoupled weight decay (AdamW, Loshchilov & Hutter), fused over the flat parameter vector, in
 * float64 JavaScript: the tokenizer's. The Phase 2 policies' million weights use SimdAdamW
 * (./adamw-simd.ts), about 8x faster.
 */
export class AdamW {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;

  constructor(
    size: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /**
   * One step over every parameter, in one pass that also checks the gradients and the new weights for
   * NaN and infinities (x * 0 is NaN exactly when x is not finite, and NaN survives a sum: cheaper than a
   * Number.isFinite call per value, and no second and third pass over the values).
   */
  step(params: Float32Array, grads: Float32Array, lr: number, weightDecay: number): StepCheck {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, m, v } = this;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    const decay = 1 - lr * weightDecay;
    // PyTorch's form of the update: one square root and one division per value.
    const k: StepConstants = { b1, b2, eps, decay, stepSize: lr / bc1, sqrtBc2: Math.sqrt(bc2) };
    let gradProbe = 0;
    let paramProbe = 0;
    for (let i = 0; i < params.length; i++) {
      gradProbe += (grads[i] as number) * 0;
      paramProbe += adamUpdate(params, grads, m, v, i, k) * 0;
    }
    return { gradsFinite: gradProbe === 0, paramsFinite: paramProbe === 0 };
  }
}

interface StepConstants {
  b1: number;
  b2: number;
  eps: number;
  decay: number;
  /** lr / (1 - beta1^t). */
  stepSize: number;
  /** sqrt(1 - beta2^t). */
  sqrtBc2: number;
}

/** Updates parameter i and its moments; returns the new (float32) weight. Small enough for V8 to inline. */
function adamUpdate(
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  i: number,
  k: StepConstants,
): number {
  const g = grads[i] as number;
  const mi = k.b1 * (m[i] as number) + (1 - k.b1) * g;
  const vi = k.b2 * (v[i] as number) + (1 - k.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  params[i] = (params[i] as number) * k.decay - (k.stepSize * mi) / (Math.sqrt(vi) / k.sqrtBc2 + k.eps);
  return params[i] as number;
}

/** Linear warm-up then cosine decay to 0. `step` is 0-based. */
export function cosineLr(step: number, totalSteps: number, peak: number, warmupSteps: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
}
