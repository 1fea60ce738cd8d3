/**
 * Loads MuJoCo's official WebAssembly build (`mujoco-js`) once per process and compiles MJCF strings.
 *
 * The module keeps an in-memory Emscripten file system: each model's XML is written to a fresh path
 * under /rfsq-sim (MEMFS, nothing touches the disk), compiled with `MjModel.loadFromXML`, then removed.
 * Arrays on MjData/MjModel (`qpos`, `mocap_pos`, `eq_data`, ...) are Float64Array/Uint8Array views into
 * the wasm heap; they can be detached when the heap grows, so callers read the getter on every access.
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';

let modulePromise: Promise<MainModule> | undefined;
let fileCounter = 0;
const SCENE_DIR = '/rfsq-sim';

/** The MuJoCo wasm module (about 0.1 s to instantiate, shared by every environment). */
export function loadMujoco(): Promise<MainModule> {
  modulePromise ??= import('mujoco-js').then(async (mod) => {
    const mujoco = await mod.default();
    mujoco.FS.mkdir(SCENE_DIR);
    return mujoco;
  });
  return modulePromise;
}

export interface CompiledModel {
  mujoco: MainModule;
  model: MjModel;
  data: MjData;
}

/** Compiles an MJCF document; throws with MuJoCo's own message when the XML is rejected. */
export async function compileModel(xml: string): Promise<CompiledModel> {
  const mujoco = await loadMujoco();
  const file = `${SCENE_DIR}/scene-${fileCounter++}.xml`;
  mujoco.FS.writeFile(file, xml);
  let model: MjModel;
  try {
    model = mujoco.MjModel.loadFromXML(file);
  } finally {
    mujoco.FS.unlink(file);
  }
  if (!model) throw new Error('MuJoCo could not compile the generated scene');
  const data = new mujoco.MjData(model);
  return { mujoco, model, data };
}

/** Id of a named body; throws if the generated scene lacks it (a bug, not a user error). */
export function bodyId(mujoco: MainModule, model: MjModel, name: string): number {
  const id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY.value, name);
  if (id < 0) throw new Error(`scene has no body "${name}"`);
  return id;
}
