import { describe, expect, it } from 'vitest';
import { modelConfig } from '../../../src/ml/tokenizer/config.js';
import { RfsqModel } from '../../../src/ml/tokenizer/model.js';
import {
  createQuantizerState,
  decodeCodes,
  levelValues,
  residualQuantize,
} from '../../../src/ml/tokenizer/quantizer.js';
import { decodeSafetensors, encodeSafetensors } from '../../../src/ml/safetensors.js';
import { Prng } from '../../../src/ml/prng.js';
import { smoothEpisodes } from '../synthetic.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('residual quantizer', () => {
  it('has evenly spaced levels in [-1, 1]', () => {
    expect(levelValues(7)).toEqual(
      [-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1].map((v) => expect.closeTo(v, 12)),
    );
  });

  it('decodes codes to exactly the quantized latent the forward pass produced (robust constants)', () => {
    const rng = new Prng(3);
    const rows = 500;
    const z = Float32Array.from({ length: rows * 16 }, () => Math.tanh(rng.normal()));
    const state = createQuantizerState(8, 16, 7);
    // Train the running statistics on a few batches, then evaluate with fixed constants.
    for (let i = 0; i < 5; i++) residualQuantize(z, rows, state, { momentum: 0.5, sigmas: 2 });
    expect(state.updates).toBe(5);
    const before = state.scale.slice();
    const { quantized, codes } = residualQuantize(z, rows, state);
    expect(state.scale).toEqual(before); // evaluation does not touch the constants
    expect(maxAbsDiff(decodeCodes(codes, state), quantized)).toBe(0);
    // Robust layers keep using many levels; the per-layer scale shrinks.
    const l7 = new Set<number>();
    for (let i = 7; i < codes.length; i += 8) l7.add(codes[i] as number);
    expect(l7.size).toBeGreaterThan(3);
    expect(state.scale[7 * 16]!).toBeLessThan(state.scale[0]! / 100);
    // Quantization error is tiny after 8 robust layers.
    expect(maxAbsDiff(quantized, z)).toBeLessThan(1e-3);
  });

  it('naive layers after the first collapse to the middle level', () => {
    const rng = new Prng(4);
    const rows = 400;
    const z = Float32Array.from({ length: rows * 16 }, () => Math.tanh(rng.normal()));
    const state = createQuantizerState(8, 16, 7);
    const { codes } = residualQuantize(z, rows, state);
    for (let i = 0; i < codes.length; i++) if (i % 8 > 0) expect(codes[i]).toBe(3);
  });

  it('model decode(encode(x)) equals forward(x) for both variants (untrained, random constants)', () => {
    const data = smoothEpisodes(4, 64, 8, 11);
    for (const variant of ['naive', 'robust'] as const) {
      const model = RfsqModel.initialize(modelConfig(variant), 5);
      if (variant === 'robust') {
        const z = model.latent(data.data);
        residualQuantize(z, z.length / 16, model.quantizer, { momentum: 1, sigmas: 2 });
      }
      const { reconstruction, codes } = model.forward(data.data);
      expect(codes.length).toBe(data.numChunks * 8 * 16 * 8);
      expect(maxAbsDiff(model.decodeFromCodes(codes), reconstruction)).toBeLessThan(1e-5);
      expect(maxAbsDiff(model.reconstruct(data.data), reconstruction)).toBe(0);
    }
  });

  it('rejects out-of-range codes with an RfsqError', () => {
    const model = RfsqModel.initialize(modelConfig('naive'), 1);
    const codes = new Int32Array(128).fill(3);
    codes[5] = 7;
    expect(() => model.decodeFromCodes(codes)).toThrow(/out of range/);
    expect(() => model.decodeFromCodes(new Int32Array(5))).toThrow(
      expect.objectContaining({ name: 'RfsqError' }),
    );
  });

  it('is deterministic for a seed', () => {
    const a = RfsqModel.initialize(modelConfig('robust'), 42).params;
    const b = RfsqModel.initialize(modelConfig('robust'), 42).params;
    const c = RfsqModel.initialize(modelConfig('robust'), 43).params;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('safetensors', () => {
  it('round-trips F32/I32 tensors with an 8-byte aligned header', () => {
    const bytes = encodeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
        b: { dtype: 'I32', shape: [2], data: Int32Array.from([-1, 7]) },
      },
      { hello: 'world' },
    );
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes, 'x');
    expect(metadata).toEqual({ hello: 'world' });
    expect(Array.from(tensors.a!.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(tensors.a!.shape).toEqual([2, 3]);
    expect(Array.from(tensors.b!.data)).toEqual([-1, 7]);
  });

  it('rejects corrupt headers', () => {
    const bad = Buffer.alloc(16);
    bad.writeBigUInt64LE(1000n, 0);
    expect(() => decodeSafetensors(bad, 'f')).toThrow(/exceeds the file size/);
    const notJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]);
    expect(() => decodeSafetensors(notJson, 'f')).toThrow(/not JSON/);
    const header = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length), 0);
    expect(() => decodeSafetensors(Buffer.concat([len, header, Buffer.alloc(8)]), 'f')).toThrow(
      /data_offsets/,
    );
  });
});
