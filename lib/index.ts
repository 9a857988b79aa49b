/**
 * higgs-audio: Higgs Audio V2 text-to-speech from a C++ libtorch core. The public surface: the
 * service (HiggsAudio), its configuration, the request schema, voices, logs and errors. The
 * building blocks below it (the native engine, tokens, prompts, the codec, audio files) are the
 * documented subpath `higgs-audio/internals` (lib/internals.ts).
 */
export { HiggsAudio } from './engine.js';
export type { ConcurrencySource, GenerateOutput, Health, HealthStatus, HiggsAudioOptions, LoadOptions, RequestOptions, StreamDone } from './engine.js';
export type { ChunkReport } from './synthesis.js';

export { CONFIG_VARIABLES, loadConfig } from './config.js';
export type { HiggsConfig } from './config.js';

export { OUTPUT_FORMATS, REQUEST_DEFAULTS, parseRequest } from './request.js';
export type { ValidatedRequest } from './request.js';

export { VoiceLibrary, parseVoiceSpec } from './voices.js';

export { createLogger, LOG_LEVELS } from './log.js';
export type { Logger, LogLevel } from './log.js';

export { ERROR_CODES, HiggsError, errorCode } from './errors.js';
export type { ErrorCode } from './errors.js';
