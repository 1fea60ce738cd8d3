import { inputError } from '../../core/errors.js';

/**
 * Python pickle, only as far as torch checkpoints of weights need it.
 *
 * Writing emits protocol 2 with the opcodes that torch's weights-only unpickler of torch 1.13 accepts
 * (torch/_weights_only_unpickler.py): no floats (1.13 has no BINFLOAT; callers store floats as 0-d
 * tensors), no memo.
 *
 * Reading is a stack machine with an allow-list: the opcodes torch.save emits (protocols 2 to 5), and of
 * the globals only the ones a checkpoint of weights names (collections.OrderedDict, the
 * torch._utils._rebuild_* functions, torch.*Storage). Nothing is ever imported or called: a global is a
 * token, and REDUCE applies our own implementation of the few allowed functions. Anything else is an input
 * error naming the opcode or the global.
 */

export type PyKey = string | number | bigint | boolean | null;

/** A Python value: floats are plain numbers when read and refused when written (see above). */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyValue[]
  | PyTuple
  | Map<PyKey, PyValue>
  | TorchTensor
  | PyGlobal;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** collections.OrderedDict: a Map that pickles as an OrderedDict (a state dict). */
export class PyOrderedDict extends Map<PyKey, PyValue> {}

/** A global name the reader allowed: a token, never a Python object. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get path(): string {
    return `${this.module}.${this.name}`;
  }
}

export type TorchDtype =
  'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TensorData =
  Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array;

/** A contiguous tensor (C order). float16/bfloat16 data is held as float32 after reading. */
export class TorchTensor {
  constructor(
    readonly dtype: TorchDtype,
    readonly shape: number[],
    readonly data: TensorData,
  ) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new RangeError(`tensor shape [${shape.join(', ')}] does not match ${data.length} values`);
    }
  }
}

const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  BINFLOAT: 0x47,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  NONE: 0x4e,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  APPENDS: 0x65,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  EMPTY_TUPLE: 0x29,
  PROTO: 0x80,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  BINUNICODE8: 0x8d,
  SHORT_BINUNICODE: 0x8c,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

// ---------------------------------------------------------------------------------------------------
// Writing

/** How the writer stores a tensor: the torch layer assigns each one a storage key. */
export type TensorRef = (tensor: TorchTensor) => { storageType: string; key: string; numel: number };

export function writePickle(value: PyValue, tensorRef: TensorRef): Buffer {
  const out: number[] = [OP.PROTO, 2];
  const bytes = (b: Uint8Array | number[]) => {
    for (const x of b) out.push(x);
  };
  const u32 = (n: number) => bytes([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    out.push(OP.BINUNICODE);
    u32(b.length);
    bytes(b);
  };
  const global = (module: string, name: string) => {
    out.push(OP.GLOBAL);
    bytes(Buffer.from(`${module}\n${name}\n`, 'utf8'));
  };
  const int = (n: number | bigint) => {
    if (typeof n === 'number' && n >= 0 && n < 256) out.push(OP.BININT1, n);
    else if (typeof n === 'number' && n >= 0 && n < 65536) out.push(OP.BININT2, n & 0xff, n >>> 8);
    else if (typeof n === 'number' && n >= -0x80000000 && n < 0x80000000) {
      out.push(OP.BININT);
      u32(n >>> 0);
    } else {
      // LONG1: little-endian two's complement, as few bytes as needed.
      let v = BigInt(n);
      const b: number[] = [];
      while (true) {
        b.push(Number(v & 0xffn));
        v >>= 8n;
        const last = b[b.length - 1] as number;
        if ((v === 0n && last < 0x80) || (v === -1n && last >= 0x80)) break;
      }
      out.push(OP.LONG1, b.length);
      bytes(b);
    }
  };
  const tuple = (items: readonly PyValue[]) => {
    if (items.length === 0) return void out.push(OP.EMPTY_TUPLE);
    if (items.length <= 3) {
      for (const item of items) emit(item);
      return void out.push(OP.TUPLE1 + items.length - 1);
    }
    out.push(OP.MARK);
    for (const item of items) emit(item);
    out.push(OP.TUPLE);
  };
  const emit = (v: PyValue): void => {
    if (v === null) out.push(OP.NONE);
    else if (v === true) out.push(OP.NEWTRUE);
    else if (v === false) out.push(OP.NEWFALSE);
    else if (typeof v === 'bigint') int(v);
    else if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) {
        throw new TypeError(
          `cannot pickle the float ${v} for torch 1.13's weights-only loader; store it as a tensor`,
        );
      }
      int(v);
    } else if (typeof v === 'string') str(v);
    else if (Array.isArray(v)) {
      out.push(OP.EMPTY_LIST);
      if (v.length > 0) {
        out.push(OP.MARK);
        for (const item of v) emit(item);
        out.push(OP.APPENDS);
      }
    } else if (v instanceof PyTuple) tuple(v.items);
    else if (v instanceof Map) {
      if (v instanceof PyOrderedDict) {
        global('collections', 'OrderedDict');
        out.push(OP.EMPTY_TUPLE, OP.REDUCE);
      } else out.push(OP.EMPTY_DICT);
      if (v.size > 0) {
        out.push(OP.MARK);
        for (const [k, item] of v) {
          emit(k);
          emit(item);
        }
        out.push(OP.SETITEMS);
      }
    } else if (v instanceof TorchTensor) {
      // torch.Tensor.__reduce_ex__: _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
      const ref = tensorRef(v);
      global('torch._utils', '_rebuild_tensor_v2');
      out.push(OP.MARK);
      out.push(OP.MARK);
      str('storage');
      global('torch', ref.storageType);
      str(ref.key);
      str('cpu');
      int(ref.numel);
      out.push(OP.TUPLE, OP.BINPERSID);
      int(0);
      tuple(v.shape);
      tuple(contiguousStrides(v.shape));
      out.push(OP.NEWFALSE);
      global('collections', 'OrderedDict');
      out.push(OP.EMPTY_TUPLE, OP.REDUCE);
      out.push(OP.TUPLE, OP.REDUCE);
    } else throw new TypeError('cannot pickle this value');
  };
  emit(value);
  out.push(OP.STOP);
  return Buffer.from(out);
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i] as number;
  }
  return strides;
}

// ---------------------------------------------------------------------------------------------------
// Reading

/** What REDUCE may apply: each allowed callable global, implemented here. */
export type Reducer = (args: PyValue[], source: string) => PyValue;

export interface ReadOptions {
  /** Allowed callables by "module.name" (REDUCE applies them). */
  callables: Record<string, Reducer>;
  /** Allowed non-callable globals by "module.name" (e.g. torch.FloatStorage): pushed as tokens. */
  names: ReadonlySet<string>;
  /** Resolves BINPERSID's id (the torch layer's storage loader). */
  persistentLoad: (id: PyValue) => PyValue;
  /** The file, for error messages. */
  source: string;
}

const UNSAFE_HINT =
  'rfsq reads only checkpoints of weights (state dicts, configs, metrics); re-save the file with ' +
  "torch.save({'model_state_dict': model.state_dict(), 'config': {...}}, path)";

export function readPickle(bytes: Uint8Array, options: ReadOptions): PyValue {
  const { source } = options;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  const fail = (why: string) => inputError(`${source}: ${why}`, UNSAFE_HINT);
  const need = (n: number) => {
    if (pos + n > buf.length) throw fail('the pickle ends early (truncated file?)');
  };
  const u8 = () => {
    need(1);
    return buf[pos++] as number;
  };
  const take = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw fail('a GLOBAL opcode has no end of line');
    const s = buf.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw fail('the pickle pops an empty stack');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw fail('the pickle reads an empty stack');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const previous = marks.pop();
    if (!previous) throw fail('the pickle closes a MARK it never opened');
    stack = previous;
    return items;
  };
  const pushGlobal = (module: string, name: string) => {
    const full = `${module}.${name}`;
    if (!(full in options.callables) && !options.names.has(full)) {
      throw fail(
        `refusing the global ${full}: a checkpoint of weights never needs it, and loading it could run code`,
      );
    }
    stack.push(new PyGlobal(module, name));
  };
  const asKey = (k: PyValue): PyKey => {
    if (k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k)) return k as PyKey;
    throw fail('a dictionary key is not a string or a number');
  };
  const setItem = (target: PyValue, k: PyValue, v: PyValue) => {
    if (!(target instanceof Map)) throw fail('SETITEM on something that is not a dict');
    target.set(asKey(k), v);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO:
        if (u8() > 5) throw fail('pickle protocol above 5');
        break;
      case OP.FRAME:
        take(8);
        break;
      case OP.STOP: {
        const result = pop();
        return result;
      }
      case OP.MARK:
        marks.push(stack);
        stack = [];
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        stack.push(take(4).readInt32LE(0));
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(take(2).readUInt16LE(0));
        break;
      case OP.LONG1: {
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
        if (n > 0 && ((b[n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case OP.BINFLOAT:
        stack.push(take(8).readDoubleBE(0));
        break;
      case OP.BINUNICODE:
        stack.push(take(take(4).readUInt32LE(0)).toString('utf8'));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(take(u8()).toString('utf8'));
        break;
      case OP.BINUNICODE8: {
        const n = take(8).readBigUInt64LE(0);
        if (n > BigInt(buf.length)) throw fail('a string is longer than the file');
        stack.push(take(Number(n)).toString('utf8'));
        break;
      }
      case OP.SHORT_BINSTRING:
        stack.push(take(u8()).toString('latin1'));
        break;
      case OP.BINSTRING:
        stack.push(take(take(4).readUInt32LE(0)).toString('latin1'));
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map<PyKey, PyValue>());
        break;
      case OP.EMPTY_TUPLE:
        stack.push(new PyTuple([]));
        break;
      case OP.TUPLE:
        stack.push(new PyTuple(popMark()));
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1;
        if (stack.length < n) throw fail('the pickle builds a tuple from an empty stack');
        stack.push(new PyTuple(stack.splice(stack.length - n, n)));
        break;
      }
      case OP.APPEND: {
        const item = pop();
        const list = top();
        if (!Array.isArray(list)) throw fail('APPEND to something that is not a list');
        list.push(item);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw fail('APPENDS to something that is not a list');
        list.push(...items);
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2 !== 0) throw fail('SETITEMS with an odd number of items');
        const target = top();
        for (let i = 0; i < items.length; i += 2)
          setItem(target, items[i] as PyValue, items[i + 1] as PyValue);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(take(4).readUInt32LE(0), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const index = op === OP.BINGET ? u8() : take(4).readUInt32LE(0);
        if (!memo.has(index)) throw fail(`the pickle reads memo slot ${index}, which it never wrote`);
        stack.push(memo.get(index) as PyValue);
        break;
      }
      case OP.GLOBAL: {
        const module = line();
        pushGlobal(module, line());
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw fail('STACK_GLOBAL without two strings');
        pushGlobal(module, name);
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || !(fn.path in options.callables)) {
          throw fail(`refusing to call ${fn instanceof PyGlobal ? fn.path : 'a non-global'}`);
        }
        if (!(args instanceof PyTuple)) throw fail(`${fn.path} is called without an argument tuple`);
        stack.push((options.callables[fn.path] as Reducer)(args.items, source));
        break;
      }
      case OP.BUILD: {
        // Only the `_metadata` attribute torch puts on a state dict (an OrderedDict); dropped.
        const state = pop();
        if (!(top() instanceof PyOrderedDict) || !(state instanceof Map)) {
          throw fail('BUILD (setting object state) is allowed only on an OrderedDict');
        }
        break;
      }
      case OP.BINPERSID:
        stack.push(options.persistentLoad(pop()));
        break;
      default:
        throw fail(
          `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))}) at byte ${at}`,
        );
    }
  }
}
