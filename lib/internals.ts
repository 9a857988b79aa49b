/**
 * higgs-audio/internals: the building blocks under HiggsAudio, for callers who drive the engine
 * themselves (benchmarks, custom pipelines). Less stable than the main entry: they follow the
 * native core.
 */
// The native engine (lib/addon-types.ts is its whole typed surface) and its loader.
export { addonCandidates, loadNative, packageRoot } from './native.js';
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
} from './native.js';
export { defaultCodecDir, defaultModelDir } from './config.js';
export { deriveMaxConcurrency, GPU_RESERVE_BYTES, MAX_DERIVED_CONCURRENCY, REQUEST_WORKING_BYTES } from './gpu-memory.js';

// Text to tokens, prompts and codes.
export { loadTokenizer } from './text/tokenizer.js';
export type { HiggsTokenizer } from './text/tokenizer.js';
export { normalizeTranscript } from './text/normalize.js';
export { chunkText } from './text/chunking.js';
export type { ChunkMethod, ChunkOptions } from './text/chunking.js';
export { renderPrompt } from './text/prompt.js';
export type { HistoryTurn, PromptSpec, RenderedPrompt, VoiceReference } from './text/prompt.js';
export { delayClip } from './text/delay.js';
export { DEFAULT_MAX_NEW_TOKENS, frameCapForText, synthesizeCodes } from './synthesis.js';
export type { SamplingOptions, SynthesisHooks, SynthesisRequest, SynthesisResult } from './synthesis.js';
export { toSynthesisOptions } from './request.js';
export { SAMPLING_DEFAULTS } from './request-defaults.js';

// The codec and audio files.
export { decodeCodes, encodeFile, encodeReferenceAudio, REFERENCE_AUDIO_LIMITS } from './audio.js';
export { synthesizeSpeech } from './speech.js';
export type { SpeechRequest, SpeechResult } from './speech.js';
export { codecFingerprint } from './codec-id.js';
