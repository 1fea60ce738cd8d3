import { inflateRawSync } from 'node:zlib';
import { inputError } from '../../core/errors.js';

/**
 * The subset of the ZIP format that torch checkpoints (.pt) and numpy archives (.npz) use: no zip64, no
 * encryption, entries stored (written here) or deflated (read only; `numpy.savez_compressed`).
 *
 * Entries are written uncompressed with their data aligned to 64 bytes, as torch's own writer does
 * (caffe2/serialize/inline_container.cc pads the local header's extra field, id "FB"), so a reader that
 * maps tensor data in place finds it aligned.
 */

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ALIGNMENT = 64;
const PADDING_FIELD_ID = 0x4246; // "FB"
// 1980-01-01 00:00 in DOS format: fixed, so the same content gives the same bytes.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++)
    c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/** A stored (uncompressed) ZIP archive of `entries`, in order, each entry's data 64-byte aligned. */
export function writeZip(entries: readonly ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    if (entry.data.length >= 0xffffffff)
      throw new RangeError(`${entry.name} is too large for a zip without zip64`);
    const crc = crc32(entry.data);
    const unpadded = offset + 30 + name.length;
    let pad = (ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT;
    if (pad > 0 && pad < 4) pad += ALIGNMENT; // an extra field needs 4 bytes of header
    const local = Buffer.alloc(30 + name.length + pad);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(pad, 28);
    name.copy(local, 30);
    if (pad > 0) {
      local.writeUInt16LE(PADDING_FIELD_ID, 30 + name.length);
      local.writeUInt16LE(pad - 4, 32 + name.length);
      local.fill(0x5a, 34 + name.length); // torch pads with 'Z'
    }
    const header = Buffer.alloc(46 + name.length);
    header.writeUInt32LE(CENTRAL_HEADER, 0);
    header.writeUInt16LE(20, 4); // made by: 2.0, MS-DOS attributes
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0, 8);
    header.writeUInt16LE(0, 10);
    header.writeUInt16LE(DOS_TIME, 12);
    header.writeUInt16LE(DOS_DATE, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(entry.data.length, 20);
    header.writeUInt32LE(entry.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(0, 30); // extra
    header.writeUInt16LE(0, 32); // comment
    header.writeUInt16LE(0, 34); // disk
    header.writeUInt16LE(0, 36); // internal attributes
    header.writeUInt32LE(0, 38); // external attributes
    header.writeUInt32LE(offset, 42);
    name.copy(header, 46);
    central.push(header);
    parts.push(local, Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
    offset += local.length + entry.data.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  if (entries.length > 0xffff || offset + centralSize >= 0xffffffff) {
    throw new RangeError('archive too large for a zip without zip64');
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/**
 * The entries of a ZIP archive, by name (CRC checked). `source` names the file in error messages;
 * every malformed archive is an input error (exit 2), never a crash.
 */
export function readZip(bytes: Uint8Array, source: string): Map<string, Uint8Array> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) =>
    inputError(
      `${source} is not a readable zip archive: ${why}`,
      'pass a file written by torch.save or numpy.savez',
    );
  let end = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
      end = i;
      break;
    }
  }
  if (end < 0) throw bad('no end-of-central-directory record');
  const count = buf.readUInt16LE(end + 10);
  const centralOffset = buf.readUInt32LE(end + 16);
  if (count === 0xffff || centralOffset === 0xffffffff) throw bad('zip64 archives are not supported');
  const entries = new Map<string, Uint8Array>();
  let p = centralOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL_HEADER) throw bad('corrupt central directory');
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      throw bad('zip64 archives are not supported');
    }
    if (localOffset + 30 > buf.length || buf.readUInt32LE(localOffset) !== LOCAL_HEADER) {
      throw bad(`entry ${name} has no local header`);
    }
    const dataStart =
      localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    if (dataStart + compressedSize > buf.length) throw bad(`entry ${name} runs past the end of the file`);
    const raw = buf.subarray(dataStart, dataStart + compressedSize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch {
        throw bad(`entry ${name} does not inflate`);
      }
    } else throw bad(`entry ${name} uses compression method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw bad(`entry ${name} fails its CRC check`);
    entries.set(name, data);
  }
  return entries;
}
