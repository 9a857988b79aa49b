/**
 * What a request of HiggsAudio (lib/service/higgs-audio.ts) takes besides its body, and what it
 * gives back: the options of generate/decode/stream and their outputs. A module of its own so
 * that the request's helpers (request-prelude.ts) use them without importing the service.
 */
import type { CodesWire } from '../audio/codes-wire.js';
import type { ResultFormat } from '../request/schema.js';
import type { ChunkReport } from '../speech/synthesis.js';
import type { HistoryTurn } from '../text/prompt/render.js';
import type { SavedVoice } from './save-voice.js';

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { chunk: number; chunks: number; columns: number; maxColumns: number }) => void;
  /** A caller-chosen id for logs (RunPod job id); generated when absent. */
  requestId?: string;
  /** stream() only: called once the last audio chunk has been yielded, with what the whole stream was. */
  onDone?: (summary: StreamDone) => void;
  /** stream() only: called before the first chunk with the stream's seed, result hash and rate. */
  onStart?: (start: StreamStart) => void;
  /**
   * If-None-Match: result hashes the caller holds already, or "*" (any result this service has
   * kept: one in the result cache). When the request's hash is among them (for "*": when its
   * result is in the cache) nothing is generated or decoded: the output says notModified, with no
   * audio (a stream calls onStart with notModified and yields nothing). The hash is made under
   * admission, its voices resolved once for the generation too. Not with save_voice (it has work
   * to do beyond the bytes).
   */
  ifNoneMatch?: readonly string[];
  /**
   * ref_audio's audio supplied late, as base64: called once the request holds its slot, before its
   * voice is resolved, so a fetch (an http(s) ref_audio of the OpenAI API) runs under admission.
   * The request's ref_audio must be an inline clip (its base64 only holds the place).
   */
  referenceAudio?: (signal?: AbortSignal) => Promise<string>;
  /**
   * stream() only: turns generated before this request (StreamDone.turns of earlier streams, oldest
   * first), carried as context as long-form chunks carry the earlier ones, so one voice goes on
   * across requests (a WebSocket session's sentences). Part of the result hash.
   */
  history?: readonly HistoryTurn[];
}

/** What a stream is before its first chunk: its seed, result hash and output sample rate. */
export interface StreamStart {
  seed: number;
  resultHash: string;
  sampleRate: number;
  /** The caller holds this result already (ifNoneMatch): the stream yields nothing. */
  notModified?: boolean;
}

/** What a finished stream was: its seed, length, chunks and whether a cap cut it short. */
export interface StreamDone {
  seed: number;
  /** The stream's result hash (a stream's bytes are its own: not a whole file's hash). */
  resultHash: string;
  durationSeconds: number;
  chunks: ChunkReport[];
  truncated: boolean;
  /** Each chunk as a turn of history (normalized text and codes): a later stream's RequestOptions.history. */
  turns: HistoryTurn[];
}

export interface GenerateOutput extends DecodeOutput {
  /** One report per generated chunk: its text, frames and why it stopped. */
  chunks: ChunkReport[];
  /** A chunk stopped at a cap (frames or context) instead of the model's end of audio. */
  truncated: boolean;
  seed: number;
  /** save_voice: whether the preset was stored (and why not). */
  savedVoice?: SavedVoice;
}

/** A decode-only request's result (and the audio part of every result). */
export interface DecodeOutput {
  /** The file; for output_format "codes" the JSON of `codes`. */
  audio: Buffer;
  format: ResultFormat;
  /** Hz of the file (codes: the codec's rate). */
  sampleRate: number;
  /** Seconds of audio (after speed). */
  durationSeconds: number;
  /** output_format "codes": the codes themselves. */
  codes?: CodesWire;
  /** sha256 of everything that decides the bytes (lib/service/result-key.ts): equal hashes, equal bytes. */
  resultHash: string;
  /** Read from the result cache instead of generated. */
  cached: boolean;
  /** The caller holds this result already (RequestOptions.ifNoneMatch): nothing ran, `audio` is empty. */
  notModified?: boolean;
  timings: { queueSeconds: number; generateSeconds: number; decodeSeconds: number; encodeSeconds: number; totalSeconds: number };
}
