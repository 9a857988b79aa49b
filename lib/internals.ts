/**
 * higgs-audio/internals: the building blocks under HiggsAudio, for callers who drive the engine
 * themselves (benchmarks, custom pipelines). Less stable than the main entry: they follow the
 * native core.
 */
// The native engine (lib/native/addon-types.ts is its whole typed surface) and its loader.
export { addonCandidates, loadNative } from './native/loader.js';
export { packageRoot } from './common/package-root.js';
export type {
  AddonConstants,
  AudioFormat,
  CodecInfo,
  DecodedAudio,
  EngineOptions,
  ForwardRequest,
  ForwardResult,
  GenerateCallbacks,
  GenerateRequest,
  GenerateResult,
  GpuMemory,
  LoadProgress,
  ModelInfo,
  NativeBinding,
  NativeEngine,
} from './native/loader.js';
export { bundledCodecDir, bundledModelDir } from './config/load-config.js';
export { resolveEngineDevice } from './service/engine-device.js';
export { RUNPOD_VOLUME_ROOT, runpodVolume } from './runpod/volume.js';

// Text to tokens, prompts and codes.
export { loadTokenizer } from './text/tokenizer.js';
export type { HiggsTokenizer } from './text/tokenizer.js';
export { normalizeTranscript } from './text/normalize.js';
export { chunkText } from './text/chunking.js';
export type { ChunkMethod, ChunkOptions } from './text/chunking.js';
export { renderPrompt } from './text/prompt/render.js';
export type { HistoryTurn, PromptSpec, RenderedPrompt, VoiceReference } from './text/prompt/render.js';
export { delayClip } from './audio/delay-pattern.js';
export { DEFAULT_MAX_NEW_TOKENS, frameCapForText, synthesizeCodes } from './speech/synthesis.js';
export type { SamplingOptions, SynthesisHooks, SynthesisRequest, SynthesisResult } from './speech/synthesis.js';
export { toSynthesisOptions } from './service/synthesis-options.js';
export { SAMPLING_DEFAULTS } from './request/defaults.js';

// The codec and audio files.
export { decodeCodes, encodeFile, encodeReferenceAudio, REFERENCE_AUDIO_LIMITS } from './audio/codec.js';
export { synthesizeSpeech } from './speech/whole-file.js';
export type { SpeechRequest, SpeechResult } from './speech/whole-file.js';
export { codecFingerprint } from './audio/codec-id.js';
