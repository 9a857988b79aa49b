/**
 * The OpenAI-compatible speech and voices calls over one HiggsAudio: whatever carries them
 * (`serve`'s /v1 routes, a RunPod job's passthrough) gets the same audio, limits and errors as
 * every other route, since each call is a HiggsAudio.generate or .stream of the translated request.
 */
import type { DecodeOutput, GenerateOutput, HiggsAudio, RequestOptions, StreamDone, StreamStart } from '../service/higgs-audio.js';
import type { SavedVoice } from '../service/save-voice.js';
import { isDecodeRequest } from '../request/schema.js';
import type { ChunkReport } from '../speech/synthesis.js';
import type { HistoryTurn } from '../text/prompt/render.js';
import { chunkSpan } from '../speech/timestamps.js';
import { HiggsError } from '../common/errors.js';
import { SPEECH_MODELS, parseSpeechRequest, type SpeechDelivery, type SpeechFormat, type SpeechRequest } from './speech-request.js';
import { FETCH_DISABLED, checkReferenceUrl, fetchReferenceAudio, type FetchPolicy } from './fetch-reference.js';

export const CONTENT_TYPES: Record<SpeechFormat, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg; codecs=opus',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm; channels=1; encoding=s16le',
  ulaw: 'audio/wav',
  alaw: 'audio/wav',
  codes: 'application/json',
};

/** OpenAI's usage block: prompt positions in, audio frames out. */
export interface SpeechUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export function usageOf(chunks: readonly ChunkReport[]): SpeechUsage {
  const input = chunks.reduce((n, c) => n + c.promptPositions, 0);
  const output = chunks.reduce((n, c) => n + c.frames, 0);
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}

/** What a speech result was besides its bytes (serve sends it as headers, a passthrough job as fields). */
export interface SpeechOutcome {
  /** null for a decode-only request. */
  seed: number | null;
  result_hash: string;
  cached: boolean;
  /** A chunk stopped at a cap (frame cap or context) instead of the model's end of audio. */
  truncated: boolean;
  /** Each chunk's stop reason, in order: audio_end, max_frames or context_full. */
  stop_reasons: string[];
  /** Where each chunk's audio starts and ends in the output, in order (lib/speech/timestamps.ts). */
  timestamps: Array<{ start_seconds: number; end_seconds: number }>;
  usage: SpeechUsage;
  saved_voice?: SavedVoice;
}

export function outcomeOf(out: GenerateOutput | DecodeOutput): SpeechOutcome {
  const chunks = 'chunks' in out ? (out as GenerateOutput).chunks : [];
  const generated = 'chunks' in out ? (out as GenerateOutput) : null;
  return {
    seed: generated?.seed ?? null,
    result_hash: out.resultHash,
    cached: out.cached,
    truncated: generated?.truncated ?? false,
    stop_reasons: chunks.map((chunk) => chunk.stopReason),
    timestamps: chunks.map(chunkSpan),
    usage: usageOf(chunks),
    ...(generated?.savedVoice ? { saved_voice: generated.savedVoice } : {}),
  };
}

/** The same of a finished stream. */
export function streamOutcome(done: StreamDone): Omit<SpeechOutcome, 'cached'> {
  return {
    seed: done.seed,
    result_hash: done.resultHash,
    truncated: done.truncated,
    stop_reasons: done.chunks.map((c) => c.stopReason),
    timestamps: done.chunks.map(chunkSpan),
    usage: usageOf(done.chunks),
  };
}

export interface SpeechFile {
  /** Empty when notModified. */
  audio: Buffer;
  contentType: string;
  result: SpeechOutcome;
  /** The caller holds this result already (SpeechCall.ifNoneMatch): nothing was generated. */
  notModified: boolean;
}

export interface SpeechStream {
  delivery: Exclude<SpeechDelivery, 'file'>;
  /** Known once the first chunk is out (pcm names its rate, which the stream says when it starts). */
  readonly contentType: string;
  /** Audio bytes as windows are decoded (pcm: no header; wav: a header with open sizes first). */
  chunks: AsyncIterable<Buffer>;
  /** What the stream was, once `chunks` is done (undefined if it failed or was cancelled). */
  done(): StreamDone | undefined;
  /**
   * The stream's seed, result hash and rate, known before its first chunk (undefined until then);
   * notModified when the caller holds it already (SpeechCall.ifNoneMatch): then there are no chunks.
   */
  started(): StreamStart | undefined;
}

export interface SpeechCall {
  signal?: AbortSignal;
  requestId?: string;
  /** An If-None-Match header's entity tags, unquoted (result hashes, or "*"): RequestOptions.ifNoneMatch. */
  ifNoneMatch?: readonly string[];
  /** stream() only: earlier turns carried as context (RequestOptions.history; a WebSocket session's sentences). */
  history?: readonly HistoryTurn[];
}

export interface OpenAiSpeech {
  /** The delivery a body asks for ('file', 'audio' or 'sse'); E_INPUT for a bad body. */
  delivery(body: unknown): SpeechDelivery;
  file(body: unknown, call?: SpeechCall): Promise<SpeechFile>;
  stream(body: unknown, call?: SpeechCall): SpeechStream;
  models(): { object: 'list'; data: Array<{ id: string; object: 'model'; created: number; owned_by: string }> };
  voices(): Promise<{ voices: Array<{ id: string; name: string }> }>;
  /** Stores a preset (HiggsAudio.addVoice); returns its entry. */
  createVoice(name: string, audio: Uint8Array, transcript: string, call?: SpeechCall): Promise<{ id: string; name: string }>;
  /** Removes a preset; false when there is none of that name. */
  deleteVoice(name: string, call?: SpeechCall): Promise<boolean>;
}

/** Valid base64 (three zero bytes) holding the place of an http(s) ref_audio until it is fetched. */
const AWAITING_FETCH = 'AAAA';

/**
 * The library input and options of a request. An http(s) ref_audio is checked against the policy
 * now, before the request waits for a slot, and fetched once it holds one (referenceAudio): once
 * per request, for its hash and its generation alike.
 */
function libraryCall(request: SpeechRequest, policy: FetchPolicy, call: SpeechCall): { input: Record<string, unknown>; options: RequestOptions } {
  const options: RequestOptions = { signal: call.signal, requestId: call.requestId, ifNoneMatch: call.ifNoneMatch, history: call.history };
  const url = request.referenceUrl;
  if (url === undefined) return { input: request.input, options };
  checkReferenceUrl(url, policy);
  return {
    input: { ...request.input, ref_audio: { ...(request.input.ref_audio as Record<string, unknown>), base64: AWAITING_FETCH } },
    options: { ...options, referenceAudio: (signal) => fetchReferenceAudio(url, policy, signal) },
  };
}

/** `policy`: whether and where an http(s) ref_audio may be fetched (off by default). */
export function createOpenAiSpeech(tts: HiggsAudio, policy: FetchPolicy = FETCH_DISABLED): OpenAiSpeech {
  const created = Math.floor(Date.now() / 1000);
  return {
    delivery: (body) => parseSpeechRequest(body).delivery,

    async file(body, call = {}) {
      const request = parseSpeechRequest(body);
      const { input, options } = libraryCall(request, policy, call);
      const out = isDecodeRequest(input) ? await tts.decode(input, options) : await tts.generate(input, options);
      return {
        audio: out.audio,
        contentType: request.format === 'pcm' ? `${CONTENT_TYPES.pcm}; rate=${out.sampleRate}` : CONTENT_TYPES[request.format],
        result: outcomeOf(out),
        notModified: out.notModified === true,
      };
    },

    stream(body, call = {}) {
      const request = parseSpeechRequest(body);
      if (request.delivery === 'file') throw new HiggsError('E_INTERNAL', 'stream() of a request that asks for a file');
      let summary: StreamDone | undefined;
      let start: StreamStart | undefined;
      const { input, options } = libraryCall(request, policy, call);
      const audio = tts.stream(input, { ...options, onDone: (s: StreamDone) => (summary = s), onStart: (s: StreamStart) => (start = s) });
      return {
        delivery: request.delivery,
        // Read once the first chunk is out, when the stream has said its rate (onStart).
        get contentType() {
          if (request.format !== 'pcm') return CONTENT_TYPES[request.format];
          if (!start) throw new HiggsError('E_INTERNAL', 'the content type of a pcm stream is known once it has started');
          return `${CONTENT_TYPES.pcm}; rate=${start.sampleRate}`;
        },
        chunks: audio,
        done: () => summary,
        started: () => start,
      };
    },

    models: () => ({
      object: 'list',
      data: SPEECH_MODELS.map((id) => ({ id, object: 'model' as const, created, owned_by: 'higgs-audio' })),
    }),

    async voices() {
      const names = await tts.voiceNames();
      return { voices: names.map((name) => ({ id: name, name })) };
    },

    async createVoice(name, audio, transcript, call = {}) {
      await tts.addVoice(name, audio, transcript, { signal: call.signal });
      return { id: name, name };
    },

    deleteVoice: (name, call = {}) => tts.removeVoice(name, { signal: call.signal }),
  };
}
