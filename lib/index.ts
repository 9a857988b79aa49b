/** higgs-audio: Higgs Audio V2 text-to-speech from a C++ libtorch core. */
export { HiggsError, errorCode, ERROR_CODES } from './errors.js';
export type { ErrorCode } from './errors.js';
export { loadNative, addonCandidates, packageRoot } from './native.js';
export type {
  EngineOptions,
  ForwardRequest,
  ForwardResult,
  LoadProgress,
  ModelInfo,
  NativeBinding,
  NativeEngine,
} from './native.js';
export { defaultModelDir } from './config.js';
