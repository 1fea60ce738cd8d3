import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimdAdamW } from '../../src/ml/adamw-simd.js';
import { Prng } from '../../src/ml/prng.js';

const PYTHON = '/usr/bin/python3';
const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch, numpy']).status === 0;
if (!torchAvailable)
  console.warn(
    `skipping the AdamW comparison with PyTorch: ${PYTHON} cannot import torch (apt-get install python3-torch)`,
  );

// 1001 values: not a whole number of vectors, so the padding is exercised too.
const SIZE = 1001;
const STEPS = 6;
const LRS = [1e-3, 3e-3, 3e-3, 2e-3, 1e-3, 5e-4];
const WEIGHT_DECAY = 0.01;

function sequence(): { params: Float32Array; grads: Float32Array[] } {
  const rng = new Prng(7);
  const params = Float32Array.from({ length: SIZE }, () => rng.uniform(-1, 1));
  // Gradients over several orders of magnitude, some exactly 0.
  const grads = Array.from({ length: STEPS }, () =>
    Float32Array.from({ length: SIZE }, (_, i) => (i % 17 === 0 ? 0 : rng.normal() * 10 ** -(i % 5))),
  );
  return { params, grads };
}

/** torch.optim.AdamW, betas (0.9, 0.999), eps 1e-8, over the same float32 values and learning rates. */
const TORCH_ADAMW = `
import sys, numpy as np, torch
d, size, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lrs = [float(x) for x in sys.argv[4].split(',')]
p = torch.nn.Parameter(torch.from_numpy(np.fromfile(d + '/params', dtype='<f4')))
grads = np.fromfile(d + '/grads', dtype='<f4').reshape(steps, size)
opt = torch.optim.AdamW([p], lr=lrs[0], betas=(0.9, 0.999), eps=1e-8, weight_decay=float(sys.argv[5]))
after = []
for t in range(steps):
    for g in opt.param_groups:
        g['lr'] = lrs[t]
    p.grad = torch.from_numpy(grads[t].copy())
    opt.step()
    after.append(p.detach().numpy().copy())
np.stack(after).astype('<f4').tofile(d + '/out')
`;

let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('SimdAdamW', () => {
  it.skipIf(!torchAvailable)(
    "makes torch.optim.AdamW's first step bit for bit, and its sixth within 8 float32 ulps",
    async () => {
      const { params, grads } = sequence();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-adamw-'));
      await writeFile(path.join(tmp, 'params'), params);
      await writeFile(path.join(tmp, 'grads'), Buffer.concat(grads.map((g) => Buffer.from(g.buffer))));
      const run = spawnSync(
        PYTHON,
        ['-c', TORCH_ADAMW, tmp, String(SIZE), String(STEPS), LRS.join(','), String(WEIGHT_DECAY)],
        { encoding: 'utf8' },
      );
      expect(run.status, run.stderr).toBe(0);
      const torchAfter = new Float32Array((await readFile(path.join(tmp, 'out'))).buffer.slice(0));

      const optimizer = new SimdAdamW(SIZE);
      optimizer.params.set(params);
      const ulpsOff: number[] = [];
      for (let t = 0; t < STEPS; t++) {
        optimizer.grads.set(grads[t]!);
        expect(optimizer.step(optimizer.params, optimizer.grads, LRS[t]!, WEIGHT_DECAY)).toEqual({
          gradsFinite: true,
          paramsFinite: true,
        });
        const torchParams = torchAfter.subarray(t * SIZE, (t + 1) * SIZE);
        let worst = 0;
        for (let i = 0; i < SIZE; i++) {
          // In ulps of the larger of the weight before and after (a weight that crosses 0 ends tiny).
          const scale = Math.max(Math.abs(torchParams[i]!), Math.abs(params[i]!));
          const ulp = 2 ** (Math.floor(Math.log2(scale)) - 23);
          worst = Math.max(worst, Math.abs(optimizer.params[i]! - torchParams[i]!) / ulp);
        }
        ulpsOff.push(worst);
      }
      expect(ulpsOff[0]).toBe(0);
      expect(Math.max(...ulpsOff)).toBeLessThanOrEqual(8);
      expect(optimizer.params.every((p, i) => p !== params[i])).toBe(true);
    },
  );

  it('copies arrays it does not own in and the new weights back, with the same result', () => {
    const { params, grads } = sequence();
    const own = new SimdAdamW(SIZE);
    own.params.set(params);
    const outside = new SimdAdamW(SIZE);
    const mine = params.slice();
    for (let t = 0; t < STEPS; t++) {
      own.grads.set(grads[t]!);
      own.step(own.params, own.grads, LRS[t]!, WEIGHT_DECAY);
      outside.step(mine, grads[t]!, LRS[t]!, WEIGHT_DECAY);
    }
    expect(Array.from(mine)).toEqual(Array.from(own.params));
    expect(() => outside.step(mine.subarray(1), grads[0]!, 1e-3, 0)).toThrow(RangeError);
  });

  it('with two shards steps on the float32 sum of their gradients', () => {
    const { params, grads } = sequence();
    const one = new SimdAdamW(SIZE);
    const two = new SimdAdamW(SIZE, 2);
    one.params.set(params);
    two.params.set(params);
    const [first, second] = two.shardGrads as [Float32Array, Float32Array];
    for (let t = 0; t < STEPS; t++) {
      const other = grads[(t + 1) % STEPS]!;
      first.set(grads[t]!);
      second.set(other);
      one.grads.set(grads[t]!.map((g, i) => Math.fround(g + other[i]!)));
      one.step(one.params, one.grads, LRS[t]!, WEIGHT_DECAY);
      two.step(two.params, two.grads, LRS[t]!, WEIGHT_DECAY);
    }
    expect(Buffer.from(two.params.slice().buffer).equals(Buffer.from(one.params.slice().buffer))).toBe(true);
  });

  it('reports a non-finite gradient and a non-finite new weight, wherever they are', () => {
    for (const at of [0, 500, SIZE - 1]) {
      const optimizer = new SimdAdamW(SIZE);
      optimizer.params.fill(0.5);
      optimizer.grads.fill(1e-3);
      optimizer.grads[at] = Number.NaN;
      expect(optimizer.step(optimizer.params, optimizer.grads, 1e-3, 0).gradsFinite).toBe(false);

      const overflow = new SimdAdamW(SIZE);
      overflow.params.fill(0.5);
      overflow.grads.fill(1e-3);
      overflow.params[at] = Number.POSITIVE_INFINITY;
      expect(overflow.step(overflow.params, overflow.grads, 1e-3, 0)).toEqual({
        gradsFinite: true,
        paramsFinite: false,
      });
    }
    const fine = new SimdAdamW(SIZE);
    fine.grads.fill(1e-3);
    expect(fine.step(fine.params, fine.grads, 1e-3, 0)).toEqual({ gradsFinite: true, paramsFinite: true });
  });
});
