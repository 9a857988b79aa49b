/**
 * The TTS job handler shared by every RunPod mode (platform worker, one-shot test input, local
 * API server): job input -> validated request -> HiggsAudio -> output delivery. Worker-level keys
 * (`action`, `stream`, `output`, `s3Config`) are taken off first (lib/runpod/job-input.ts).
 * RunPod forwards a request's `s3Config` at the top level of the job, beside `input`
 * (docs/runpod-protocol.md#job-input): the mode passes it in the context; inside `input` it is
 * accepted too.
 */
import { createHash } from 'node:crypto';
import type { DecodeOutput, GenerateOutput, HiggsAudio, StreamDone } from '../service/higgs-audio.js';
import type { ChunkReport } from '../speech/synthesis.js';
import { chunkSpan } from '../speech/timestamps.js';
import { HiggsError } from '../common/errors.js';
import { splitJobInput } from './job-input.js';
import { isDecodeRequest, parseRequest } from '../request/schema.js';
import type { AudioDelivery } from '../s3/delivery.js';
import { createOpenAiSpeech, streamOutcome, type OpenAiSpeech } from '../openai/speech-service.js';
import { passthroughJob, type PassthroughJob } from '../openai/passthrough.js';
import type { FetchPolicy } from '../openai/fetch-reference.js';

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
  /** The job's top-level `s3Config` (`{accessId, accessSecret, bucketName, endpointUrl}`), if any. */
  s3Config?: unknown;
}

export interface TtsHandler {
  /** Loads the model (the platform worker calls it before the first take). */
  ready(): Promise<void>;
  /** A whole job: the `output` of the RunPod result. Throws HiggsError on failure. */
  run(input: unknown, ctx: JobContext): Promise<Record<string, unknown>>;
  /** True for inputs that ask to stream (`"stream": true`). */
  wantsStream(input: unknown): boolean;
  /** A streamed job: each part is one job-stream output (the first with the first audio, then every HIGGS_STREAM_PART_MS). */
  stream(input: unknown, ctx: JobContext): AsyncIterable<Record<string, unknown>>;
  health(): Record<string, unknown>;
  dispose(): Promise<void>;
  /** The OpenAI-compatible speech and voices calls over the same service (lib/openai). */
  readonly speech: OpenAiSpeech;
}

/**
 * RunPod's payload limits (docs/runpod-protocol.md#base64-or-s3), with room for the JSON around
 * the audio.
 */
export const BASE64_LIMITS = { run: 9 * 1024 * 1024, runsync: 18 * 1024 * 1024 };

/** Each chunk of a result as the output reports it (its text is not echoed back). */
function chunkOutputs(
  chunks: readonly ChunkReport[],
): Array<{ characters: number; frames: number; stop_reason: ChunkReport['stopReason']; start_seconds: number; end_seconds: number }> {
  return chunks.map((chunk) => ({ characters: [...chunk.text].length, frames: chunk.frames, stop_reason: chunk.stopReason, ...chunkSpan(chunk) }));
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * A request without a seed gets one from its job id: RunPod retries a failed job under the same
 * id, so the retry returns the same bytes. Different jobs still get different seeds.
 */
export function withJobSeed<T extends Record<string, unknown>>(request: T, jobId: string): T {
  if (request.seed !== undefined || isDecodeRequest(request)) return request;
  return { ...request, seed: createHash('sha256').update(jobId).digest().readUInt32LE(0) };
}

/** What a result says besides its bytes. */
function resultMeta(out: DecodeOutput | GenerateOutput): Record<string, unknown> {
  const generated = 'chunks' in out ? (out as GenerateOutput) : null;
  return {
    format: out.format,
    sample_rate: out.sampleRate,
    duration_seconds: out.durationSeconds,
    ...(generated ? { seed: generated.seed, truncated: generated.truncated, chunks: chunkOutputs(generated.chunks) } : {}),
    result_hash: out.resultHash,
    cached: out.cached,
    ...(generated?.savedVoice ? { saved_voice: generated.savedVoice } : {}),
    timings: out.timings,
  };
}

/** The job's bucket: from the top level (RunPod) or from inside input (local API), never both. */
function chooseS3Config(topLevel: unknown, inInput: unknown): unknown {
  if (present(topLevel) && present(inInput)) {
    throw new HiggsError('E_INPUT', 's3Config: given both beside input and inside it; send it once (RunPod puts it beside input)');
  }
  return present(topLevel) ? topLevel : inInput;
}

/** An OpenAI passthrough job's whole output: the call's JSON, or its audio as base64. */
async function runPassthrough(speech: OpenAiSpeech, job: PassthroughJob, ctx: JobContext): Promise<Record<string, unknown>> {
  if (job.route === '/v1/models') return speech.models();
  if (job.route === '/v1/audio/voices') return speech.voices();
  const out = await speech.file(withJobSeed(job.body, ctx.id), { signal: ctx.signal, requestId: ctx.id });
  const limit = BASE64_LIMITS[ctx.route ?? 'run'];
  if (Math.ceil(out.audio.length / 3) * 4 > limit) {
    throw new HiggsError('E_INPUT', `output: the audio is over the ${(limit / 1e6).toFixed(0)} MB result limit; ask for a compressed response_format or stream it`);
  }
  return { audio_base64: out.audio.toString('base64'), content_type: out.contentType, ...out.result };
}

export interface TtsHandlerOptions {
  /** Whether and where the speech API may fetch an http(s) ref_audio (readFetchPolicy); off by default. */
  refAudioFetch?: FetchPolicy;
}

export function createTtsHandler(tts: HiggsAudio, delivery: AudioDelivery | null, options: TtsHandlerOptions = {}): TtsHandler {
  const speech = createOpenAiSpeech(tts, options.refAudioFetch);
  return {
    speech,
    ready: () => tts.load(),
    health: () => tts.health() as unknown as Record<string, unknown>,
    dispose: () => tts.dispose(),
    wantsStream: (input) => {
      try {
        const passthrough = passthroughJob(input);
        if (passthrough) return passthrough.route === '/v1/audio/speech' && speech.delivery(passthrough.body) !== 'file';
        return splitJobInput(input).stream;
      } catch {
        return false; // run() reports the input error
      }
    },

    async run(input, ctx) {
      const passthrough = passthroughJob(input);
      if (passthrough) return runPassthrough(speech, passthrough, ctx);
      const job = splitJobInput(input);
      if (job.action === 'health') return { health: tts.health() };
      // Where the audio would go is checked before the work, not after it.
      const wantsS3 = job.output === 's3';
      const s3Config = chooseS3Config(ctx.s3Config, job.s3Config);
      if (present(s3Config) && !delivery) throw new HiggsError('E_INPUT', 's3Config: this worker does not accept per-job buckets');
      if (wantsS3 && !delivery) throw new HiggsError('E_INPUT', 'output: "s3" asked for, but no bucket is configured (BUCKET_* variables or s3Config)');
      if (present(s3Config) || wantsS3) await delivery!.check(s3Config);
      const out = isDecodeRequest(job.request)
        ? await tts.decode(job.request, { signal: ctx.signal, requestId: ctx.id })
        : await tts.generate(withJobSeed(job.request, ctx.id), {
            signal: ctx.signal,
            requestId: ctx.id,
            onProgress: ctx.progress && ((p) => ctx.progress!({ chunk: p.chunk + 1, chunks: p.chunks, frames: p.columns })),
          });
      const limit = BASE64_LIMITS[ctx.route ?? 'run'];
      const base64Bytes = Math.ceil(out.audio.length / 3) * 4;
      const meta = resultMeta(out);
      if (!wantsS3 && out.codes && out.audio.length <= limit) return { codes: out.codes, ...meta };
      if (!wantsS3 && base64Bytes <= limit) return { audio_base64: out.audio.toString('base64'), ...meta };
      if (!delivery) {
        throw new HiggsError(
          'E_INPUT',
          `output: the audio (${(base64Bytes / 1e6).toFixed(1)} MB as base64) is over the ${(limit / 1e6).toFixed(0)} MB result limit; configure a bucket or use a compressed output_format`,
        );
      }
      const uploaded = await delivery.upload(out.audio, { jobId: ctx.id, format: out.format, s3Config });
      return { audio_url: uploaded.url, s3_key: uploaded.key, s3_bucket: uploaded.bucket, url_expires_in: uploaded.expiresInSeconds, ...meta };
    },

    async *stream(input, ctx) {
      const passthrough = passthroughJob(input);
      if (passthrough) {
        // The same chunks as serve's raw stream or SSE events, one per part, then the usage.
        const stream = speech.stream(withJobSeed(passthrough.body, ctx.id), { signal: ctx.signal, requestId: ctx.id });
        let part = 0;
        for await (const bytes of stream.chunks) yield { part: part++, content_type: stream.contentType, audio_base64: bytes.toString('base64') };
        const done = stream.done();
        yield { part: part++, content_type: stream.contentType, audio_base64: '', done: true, ...(done ? streamOutcome(done) : {}) };
        return;
      }
      const job = splitJobInput(input);
      if (job.output === 's3') throw new HiggsError('E_INPUT', 'output: a streamed job sends its audio in the stream parts; "s3" needs "stream": false');
      if (isDecodeRequest(job.request)) throw new HiggsError('E_INPUT', 'stream: a decode-only request (codes) returns one file; send it with "stream": false');
      const format = parseRequest(job.request).output_format;
      let part = 0;
      let done: StreamDone | undefined;
      // One part per piece of the stream: the first leaves with the first decoded audio, then one
      // every HIGGS_STREAM_PART_MS of audio; all parts' bytes in order are one file of `format`.
      const audio = tts.stream(withJobSeed(job.request, ctx.id), { signal: ctx.signal, requestId: ctx.id, onDone: (summary) => (done = summary) });
      for await (const bytes of audio) yield { part: part++, format, audio_base64: bytes.toString('base64') };
      // A last part without audio says what the stream was (audio parts never wait for it).
      if (done) {
        const { seed, durationSeconds, truncated, chunks, resultHash } = done;
        yield { part: part++, format, audio_base64: '', done: true, seed, duration_seconds: durationSeconds, truncated, chunks: chunkOutputs(chunks), result_hash: resultHash };
      }
    },
  };
}
