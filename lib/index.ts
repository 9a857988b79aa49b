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
export type { GenerateCallbacks, GenerateRequest, GenerateResult } from './native.js';
export { synthesizeCodes, frameCapForText, DEFAULT_MAX_NEW_TOKENS } from './synthesis.js';
export type { ChunkReport, SamplingOptions, SynthesisHooks, SynthesisRequest, SynthesisResult } from './synthesis.js';
export { loadTokenizer } from './text/tokenizer.js';
export type { HiggsTokenizer } from './text/tokenizer.js';
export { renderPrompt } from './text/prompt.js';
export type { HistoryTurn, PromptSpec, RenderedPrompt, VoiceReference } from './text/prompt.js';
export { normalizeTranscript } from './text/normalize.js';
export { chunkText } from './text/chunking.js';
export type { ChunkMethod, ChunkOptions } from './text/chunking.js';
export { delayClip } from './text/delay.js';
export type { AudioFormat, CodecInfo, DecodedAudio, GpuMemory } from './native.js';
export { decodeCodes, encodeFile, encodeReferenceAudio, REFERENCE_AUDIO_LIMITS } from './audio.js';
export { synthesizeSpeech } from './speech.js';
export type { SpeechRequest, SpeechResult } from './speech.js';
export { VoiceLibrary, parseVoiceSpec } from './voices.js';
export { codecFingerprint } from './codec-id.js';
export { defaultCodecDir } from './config.js';
export { HiggsAudio } from './engine.js';
export type { ConcurrencySource, GenerateOutput, Health, HealthStatus, HiggsAudioOptions, LoadOptions, RequestOptions } from './engine.js';
export { deriveMaxConcurrency, GPU_RESERVE_BYTES, REQUEST_WORKING_BYTES, MAX_DERIVED_CONCURRENCY } from './gpu-memory.js';
export { parseRequest, toSynthesisOptions, REQUEST_DEFAULTS } from './request.js';
export type { ValidatedRequest } from './request.js';
export { createLogger, LOG_LEVELS } from './log.js';
export type { Logger, LogLevel } from './log.js';
