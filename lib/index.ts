/**
 * higgs-audio: Higgs Audio V2 text-to-speech from a C++ libtorch core. The public surface: the
 * service (HiggsAudio), its configuration, the request schema, voices, logs and errors. The
 * building blocks below it (the native engine, tokens, prompts, the codec, audio files) are the
 * documented subpath `higgs-audio/internals` (lib/internals.ts).
 */
export { HiggsAudio } from './service/higgs-audio.js';
export type { ConcurrencySource, GenerateOutput, Health, HealthStatus, HiggsAudioOptions, LoadOptions, RequestOptions, StreamDone } from './service/higgs-audio.js';
export type { ChunkReport } from './speech/synthesis.js';
export type { HistoryTurn } from './text/prompt/render.js';

// Text-in streaming: text as it is written (an LLM's tokens), speech sentence by sentence.
export { SpeechSession, createSpeechSession } from './service/speech-session.js';
export type { SentenceReport, SentenceStream, SpeakSentence, SpeechSessionEvent, SpeechSessionLimits, SpeechSessionOptions } from './service/speech-session.js';

export { CONFIG_VARIABLES, loadConfig } from './config/load-config.js';
export type { HiggsConfig } from './config/load-config.js';

export { OUTPUT_FORMATS, REQUEST_DEFAULTS, parseRequest } from './request/schema.js';
export type { ValidatedRequest } from './request/schema.js';

export { VoiceLibrary, parseVoiceSpec } from './voices/library.js';

export { createLogger, LOG_LEVELS } from './common/log.js';
export type { Logger, LogLevel } from './common/log.js';

export { ERROR_CODES, HiggsError, errorCode } from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
