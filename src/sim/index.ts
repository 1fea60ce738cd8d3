/**
 * The simulated LIBERO-like task family (MuJoCo wasm): scene, tasks, observations, scripted expert,
 * demonstration collection (robomimic HDF5), rollouts and an ASCII top view. See README.md here.
 */
export { loadMujoco } from './mujoco.js';
export { CONTROL_HZ, SUBSTEPS, TIMESTEP, sceneXml } from './scene.js';
export {
  MIN_SEPARATION,
  SPAWN_HALF_RANGE,
  TASKS,
  TASK_NAMES,
  parseTaskName,
  sampleLayout,
  targetSurfaceZ,
  type EpisodeLayout,
  type TaskName,
  type TaskSpec,
} from './tasks.js';
export { OBS, OBS_DIM, observe, type SimState } from './observation.js';
export {
  ACTION_DIM,
  GRASP_RADIUS,
  POS_SCALE,
  REST_SPEED,
  ROT_SCALE,
  SimEnv,
  WORKSPACE,
  isSuccess,
  type EnvOptions,
  type StepResult,
} from './env.js';
export {
  DEFAULT_EXPERT_NOISE,
  EXPERT_PHASES,
  ScriptedExpert,
  type ExpertOptions,
  type ExpertPhase,
} from './expert.js';
export {
  runEpisode,
  runExpertEpisode,
  type ChunkPolicy,
  type EpisodeResult,
  type Trajectory,
} from './rollout.js';
export {
  TOP_VIEW_HALF_EXTENT,
  TOP_VIEW_STRIDE,
  renderTopView,
  topViewTrack,
  type TopViewOptions,
  type TopViewTrack,
} from './render.js';
export {
  DEFAULT_DEMO_SEED,
  DEFAULT_EPISODES_PER_TASK,
  SIM_DATA_VERSION,
  collectDemos,
  defaultDemoPath,
  ensureDefaultDemos,
  envArgs,
  loadSimDemos,
  saveDemosHdf5,
  simCacheDir,
  type CollectOptions,
  type CollectResult,
  type DefaultDemoOptions,
  type DemoEpisode,
  type LoadedDemos,
} from './collect.js';
