/**
 * The OpenAI-compatible speech and voices calls over one HiggsAudio: whatever carries them
 * (`serve`'s /v1 routes, a RunPod job's passthrough) gets the same audio, limits and errors as
 * every other route, since each call is a HiggsAudio.generate or .stream of the translated request.
 */
import type { HiggsAudio, StreamDone } from '../service/higgs-audio.js';
import type { ChunkReport } from '../speech/synthesis.js';
import { HiggsError } from '../common/errors.js';
import { SPEECH_MODELS, parseSpeechRequest, type SpeechDelivery, type SpeechFormat, type SpeechRequest } from './speech-request.js';
import { FETCH_DISABLED, fetchReferenceAudio, type FetchPolicy } from './fetch-reference.js';

export const CONTENT_TYPES: Record<SpeechFormat, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg; codecs=opus',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm; channels=1; encoding=s16le',
  ulaw: 'audio/wav',
  alaw: 'audio/wav',
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

export interface SpeechFile {
  audio: Buffer;
  contentType: string;
  seed: number;
  usage: SpeechUsage;
}

export interface SpeechStream {
  delivery: Exclude<SpeechDelivery, 'file'>;
  contentType: string;
  /** Audio bytes as windows are decoded (pcm: no header; wav: a header with open sizes first). */
  chunks: AsyncIterable<Buffer>;
  /** What the stream was, once `chunks` is done (undefined if it failed or was cancelled). */
  done(): StreamDone | undefined;
}

export interface SpeechCall {
  signal?: AbortSignal;
  requestId?: string;
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

/** The library input of a request, its http(s) ref_audio fetched first (where the policy allows). */
async function inputOf(request: SpeechRequest, policy: FetchPolicy, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (request.referenceUrl === undefined) return request.input;
  const base64 = await fetchReferenceAudio(request.referenceUrl, policy, signal);
  return { ...request.input, ref_audio: { ...(request.input.ref_audio as Record<string, unknown>), base64 } };
}

/** `policy`: whether and where an http(s) ref_audio may be fetched (off by default). */
export function createOpenAiSpeech(tts: HiggsAudio, policy: FetchPolicy = FETCH_DISABLED): OpenAiSpeech {
  const created = Math.floor(Date.now() / 1000);
  return {
    delivery: (body) => parseSpeechRequest(body).delivery,

    async file(body, call = {}) {
      const request = parseSpeechRequest(body);
      const out = await tts.generate(await inputOf(request, policy, call.signal), { signal: call.signal, requestId: call.requestId });
      return {
        audio: out.audio,
        contentType: request.format === 'pcm' ? `${CONTENT_TYPES.pcm}; rate=${out.sampleRate}` : CONTENT_TYPES[request.format],
        seed: out.seed,
        usage: usageOf(out.chunks),
      };
    },

    stream(body, call = {}) {
      const request = parseSpeechRequest(body);
      if (request.delivery === 'file') throw new HiggsError('E_INTERNAL', 'stream() of a request that asks for a file');
      let summary: StreamDone | undefined;
      const options = { signal: call.signal, requestId: call.requestId, onDone: (s: StreamDone) => (summary = s) };
      const audio =
        request.referenceUrl === undefined
          ? tts.stream(request.input, options)
          : (async function* () {
              yield* tts.stream(await inputOf(request, policy, call.signal), options);
            })();
      return {
        delivery: request.delivery,
        contentType: request.format === 'pcm' ? `${CONTENT_TYPES.pcm}; rate=24000` : CONTENT_TYPES[request.format],
        chunks: audio,
        done: () => summary,
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
