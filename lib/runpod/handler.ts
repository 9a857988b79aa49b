/**
 * The TTS job handler shared by every RunPod mode (platform worker, one-shot test input, local
 * API server): job input -> validated request -> HiggsAudio -> output delivery. Worker-level keys
 * (`action`, `stream`, `s3Config`) are taken off before the request schema sees the input.
 */
import { HiggsAudio } from '../engine.js';
import { HiggsError } from '../errors.js';

/** What a handler needs from the mode that runs it. */
export interface JobContext {
  /** The RunPod job id (or a local id). */
  id: string;
  /** Aborted by the job-stop channel, /cancel, SIGINT or a consumer that went away. */
  signal: AbortSignal;
  /** Progress update for the platform (serialized by the caller). */
  progress?: (update: Record<string, unknown>) => void;
  /** Which RunPod route the job came through: base64 outputs must fit its payload limit. */
  route?: 'run' | 'runsync';
}

/** Uploads an encoded audio file and returns where to fetch it. */
export interface AudioDelivery {
  upload(audio: Buffer, meta: { jobId: string; format: string; s3Config?: unknown }): Promise<{ url: string; key: string; bucket: string; expiresInSeconds: number }>;
}

export interface TtsHandler {
  /** Loads the model (the platform worker calls it before the first take). */
  ready(): Promise<void>;
  /** A whole job: the `output` of the RunPod result. Throws HiggsError on failure. */
  run(input: unknown, ctx: JobContext): Promise<Record<string, unknown>>;
  /** True for inputs that ask to stream (`"stream": true`). */
  wantsStream(input: unknown): boolean;
  /** A streamed job: each part is one job-stream output (audio chunks of at most ~700 KB base64). */
  stream(input: unknown, ctx: JobContext): AsyncIterable<Record<string, unknown>>;
  health(): Record<string, unknown>;
  dispose(): Promise<void>;
}

/** RunPod's payload limits (reference/runpod.md 8), with room for the JSON around the audio. */
export const BASE64_LIMITS = { run: 9 * 1024 * 1024, runsync: 18 * 1024 * 1024 };
/** Raw PCM bytes per streamed part: base64 of it stays well under the 1 MB job-stream limit. */
const STREAM_PART_BYTES = 512 * 1024;

interface SplitInput {
  request: Record<string, unknown>;
  action?: string;
  stream: boolean;
  s3Config?: unknown;
}

function split(input: unknown): SplitInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new HiggsError('E_INPUT', 'input: must be a JSON object');
  }
  const { action, stream, s3Config, ...request } = input as Record<string, unknown>;
  if (action !== undefined && action !== 'health') throw new HiggsError('E_INPUT', `action: unknown action (only "health")`);
  if (stream !== undefined && typeof stream !== 'boolean') throw new HiggsError('E_INPUT', 'stream: must be true or false');
  return { request, action: action as string | undefined, stream: stream === true, s3Config };
}

export function createTtsHandler(tts: HiggsAudio, delivery: AudioDelivery | null): TtsHandler {
  return {
    ready: () => tts.load(),
    health: () => tts.health() as unknown as Record<string, unknown>,
    dispose: () => tts.dispose(),
    wantsStream: (input) => {
      try {
        return split(input).stream;
      } catch {
        return false; // run() reports the input error
      }
    },

    async run(input, ctx) {
      const job = split(input);
      if (job.action === 'health') return { health: tts.health() };
      const out = await tts.generate(job.request, {
        signal: ctx.signal,
        requestId: ctx.id,
        onProgress: ctx.progress && ((p) => ctx.progress!({ chunk: p.chunk + 1, chunks: p.chunks, frames: p.columns })),
      });
      const wantsS3 = job.request.output === 's3';
      const limit = BASE64_LIMITS[ctx.route ?? 'run'];
      const base64Bytes = Math.ceil(out.audio.length / 3) * 4;
      const meta = {
        format: out.format,
        sample_rate: out.sampleRate,
        duration_seconds: out.durationSeconds,
        seed: out.seed,
        chunks: out.chunks,
        timings: out.timings,
      };
      if (!wantsS3 && base64Bytes <= limit) return { audio_base64: out.audio.toString('base64'), ...meta };
      if (!delivery) {
        throw new HiggsError(
          'E_INPUT',
          wantsS3
            ? 'output: "s3" asked for, but no bucket is configured (BUCKET_* variables or s3Config)'
            : `output: the audio (${(base64Bytes / 1e6).toFixed(1)} MB as base64) is over the ${(limit / 1e6).toFixed(0)} MB result limit; configure a bucket or use a compressed output_format`,
        );
      }
      const uploaded = await delivery.upload(out.audio, { jobId: ctx.id, format: out.format, s3Config: job.s3Config });
      return { audio_url: uploaded.url, s3_key: uploaded.key, s3_bucket: uploaded.bucket, url_expires_in: uploaded.expiresInSeconds, ...meta };
    },

    async *stream(input, ctx) {
      const job = split(input);
      let pending: Buffer[] = [];
      let size = 0;
      let part = 0;
      for await (const chunk of tts.stream(job.request, { signal: ctx.signal, requestId: ctx.id })) {
        pending.push(chunk);
        size += chunk.length;
        if (size >= STREAM_PART_BYTES) {
          yield { part: part++, format: 'wav', audio_base64: Buffer.concat(pending).toString('base64') };
          pending = [];
          size = 0;
        }
      }
      if (size > 0) yield { part: part++, format: 'wav', audio_base64: Buffer.concat(pending).toString('base64') };
    },
  };
}
