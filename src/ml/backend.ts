import { createRequire } from 'node:module';
import path from 'node:path';
import { RfsqError } from '../core/errors.js';

export type BackendRequest = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

const NATIVE_HINT =
  'install the native TensorFlow backend with `npm install @tensorflow/tfjs-node` (or tfjs-node-gpu), or use --backend wasm';

let active: BackendName | undefined;

/** Silence the "install tfjs-node" banner tfjs prints in Node; the CLI reports the backend itself. */
function quietTfjs(tf: typeof import('@tensorflow/tfjs')): void {
  try {
    tf.env().set('PROD', true);
  } catch {
    // Older tfjs without the flag: harmless.
  }
}

async function tryNative(gpu: boolean): Promise<boolean> {
  const name = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  try {
    // A variable specifier keeps TypeScript from resolving a package that is not installed.
    await import(name);
  } catch {
    return false;
  }
  const tf = await import('@tensorflow/tfjs');
  return tf.setBackend('tensorflow');
}

async function tryWasm(): Promise<boolean> {
  const tf = await import('@tensorflow/tfjs');
  quietTfjs(tf);
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = path.join(
      path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    wasm.setWasmPaths(dist + path.sep);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

async function tryCpu(): Promise<boolean> {
  const tf = await import('@tensorflow/tfjs');
  quietTfjs(tf);
  return tf.setBackend('cpu');
}

/**
 * Select the TensorFlow.js backend and return the one that actually runs. `auto` tries the native
 * TensorFlow bindings (GPU, then CPU), then WebAssembly, then plain JavaScript. Asking explicitly for a
 * backend that cannot load throws an RfsqError with a hint.
 */
export async function selectBackend(requested: BackendRequest = 'auto'): Promise<BackendName> {
  const tf = await import('@tensorflow/tfjs');
  quietTfjs(tf);
  let name: BackendName | undefined;
  switch (requested) {
    case 'auto':
      if (await tryNative(true)) name = 'tensorflow-gpu';
      else if (await tryNative(false)) name = 'tensorflow';
      else if (await tryWasm()) name = 'wasm';
      else if (await tryCpu()) name = 'cpu';
      break;
    case 'tensorflow':
      if ((await tryNative(false)) || (await tryNative(true))) name = 'tensorflow';
      else
        throw new RfsqError('the native TensorFlow backend (@tensorflow/tfjs-node) is not installed', {
          hint: NATIVE_HINT,
        });
      break;
    case 'wasm':
      if (await tryWasm()) name = 'wasm';
      else
        throw new RfsqError('the WebAssembly backend (@tensorflow/tfjs-backend-wasm) could not start', {
          hint: 'reinstall dependencies with `npm ci`, or use --backend cpu',
        });
      break;
    case 'cpu':
      if (await tryCpu()) name = 'cpu';
      break;
    default:
      throw new RfsqError(`unknown backend "${String(requested)}"`, {
        hint: 'use one of: auto, tensorflow, wasm, cpu',
      });
  }
  if (!name) throw new RfsqError('no TensorFlow.js backend could start', { hint: NATIVE_HINT });
  await tf.ready();
  active = name;
  return name;
}

/** The backend chosen by the last selectBackend call, if any. */
export function activeBackend(): BackendName | undefined {
  return active;
}
