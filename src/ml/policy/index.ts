export {
  type CodeShape,
  type Codebook,
  type Drafter,
  type DraftPolicyConfig,
  type LayerQuery,
  type MainPolicyConfig,
  type Policy,
  type PolicyDataset,
  DraftPolicy,
  MainPolicy,
  TOKENIZER_CODE_SHAPE,
  argmaxLevels,
  nominalCodebook,
  tokensPerLayer,
  validateDataset,
} from './model.js';
export {
  type PolicyEpochInfo,
  type TrainDraftOptions,
  type TrainMainOptions,
  type TrainPolicyResult,
  softmaxCrossEntropy,
  trainPolicy,
} from './train.js';
export { type DraftReport, type MainReport, evaluateDraft, evaluateMain } from './evaluate.js';
export { type GreedyResult, type SpeculativeResult, decodeGreedy, decodeSpeculative } from './decode.js';
export {
  type LoadedPolicy,
  POLICY_FORMAT,
  POLICY_FORMAT_VERSION,
  loadPolicy,
  savePolicy,
} from './checkpoint.js';
