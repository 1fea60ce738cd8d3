import { inputError } from '../core/errors.js';

/**
 * Minimal reader/writer for the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets}}, optional
 * "__metadata__" of string values, padded with spaces to a multiple of 8), then the raw little-endian data.
 * Only F32 and I32 tensors are supported (all this project writes).
 */

export type SafetensorsDtype = 'F32' | 'I32';

export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function encodeSafetensors(
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name] as NamedTensor;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new RangeError(
        `tensor ${name}: shape [${t.shape.join(', ')}] does not match ${t.data.length} values`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name] as NamedTensor;
    for (let i = 0; i < t.data.length; i++, pos += 4) {
      if (t.dtype === 'F32') out.writeFloatLE(t.data[i] as number, pos);
      else out.writeInt32LE(t.data[i] as number, pos);
    }
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Parse a safetensors file; `source` names the file in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  const corrupt = (why: string) =>
    inputError(
      `${source} is not a valid safetensors file: ${why}`,
      'the checkpoint is corrupt; train it again',
    );
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8) throw corrupt('file shorter than the 8-byte header length');
  const headerLength = buf.readBigUInt64LE(0);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, buf.length - 8))) {
    throw corrupt(`header length ${headerLength} exceeds the file size`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw corrupt('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw corrupt('header is not a JSON object');
  }
  const dataStart = 8 + n;
  const dataLength = buf.length - dataStart;
  const tensors: Record<string, NamedTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw corrupt(`entry ${name} is not an object`);
    if (e.dtype !== 'F32' && e.dtype !== 'I32') {
      throw corrupt(`tensor ${name} has dtype ${String(e.dtype)}; only F32 and I32 are supported`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw corrupt(`tensor ${name} has an invalid shape`);
    }
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      (offsets[0] as number) > (offsets[1] as number) ||
      (offsets[1] as number) > dataLength
    ) {
      throw corrupt(`tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * count) throw corrupt(`tensor ${name}: data size does not match its shape`);
    const data = e.dtype === 'F32' ? new Float32Array(count) : new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const pos = dataStart + begin + 4 * i;
      data[i] = e.dtype === 'F32' ? buf.readFloatLE(pos) : buf.readInt32LE(pos);
    }
    tensors[name] = { dtype: e.dtype, shape: shape as number[], data };
  }
  return { tensors, metadata };
}
