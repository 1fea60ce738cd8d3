/** Action-data layer: load, validate, normalize, split and chunk robot action trajectories. */
export {
  DEFAULT_ACTION_DIM,
  episodeDim,
  type ActionDataset,
  type Episode,
  type LoadOptions,
} from './types.js';
export { loadActions } from './load.js';
export { loadHdf5Actions, loadH5wasm } from './hdf5.js';
export {
  encodeNpy,
  loadNpyActions,
  parseNpy,
  readNpy,
  writeNpy,
  type NpyArray,
  type NpyData,
  type NpyDtype,
} from './npy.js';
export { DEMO_DESCRIPTION, DEMO_TARGET_STD, demoDataset, type DemoOptions } from './demo.js';
export {
  MIN_RANGE,
  computeNormStats,
  denormalize,
  normalize,
  normalizeEpisodes,
  quantile,
  type NormStats,
} from './normalize.js';
export { chunkEpisodes, type ActionChunks } from './chunk.js';
export { splitEpisodes, type EpisodeSplit } from './split.js';
export { gaussian, hashSeed, mulberry32 } from './random.js';
export { checkFinite, checkNotEmpty } from './validate.js';
