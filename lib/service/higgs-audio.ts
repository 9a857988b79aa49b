/**
 * HiggsAudio: the library's front door. One native Engine (the LM and the codec, each on a native thread of its own),
 * loaded lazily exactly once, an admission queue (E_BUSY beyond it), validated requests, voices,
 * whole-file generation and streaming, health, and disposal.
 */
import { codecFingerprint } from '../audio/codec-id.js';
import { loadConfig, type HiggsConfig } from '../config/load-config.js';
import { HiggsError, errorCode } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { GpuCacheReleaser } from './gpu-memory.js';
import { loadNative, type BatchStatus, type CodecInfo, type GpuMemory, type ModelInfo, type NativeEngine } from '../native/loader.js';
import { RequestQueue } from './queue.js';
import { parseRequest, type ValidatedRequest } from '../request/schema.js';
import { toSynthesisOptions } from './synthesis-options.js';
import { resolveEngineDevice } from './engine-device.js';
import { resolveVoices } from '../request/resolve-voices.js';
import { synthesizeSpeech, type FileFormat } from '../speech/whole-file.js';
import type { ChunkReport } from '../speech/synthesis.js';
import { streamSpeech } from '../speech/stream.js';
import { loadTokenizer, type HiggsTokenizer } from '../text/tokenizer.js';
import { DEFAULT_MAX_TRANSCRIPT_CHARS, VoiceLibrary } from '../voices/library.js';
import { addPreset, removePreset } from '../voices/presets.js';
import { cleanText } from '../voices/transcript.js';
import { encodeReferenceAudio, toPresetWav } from '../audio/codec.js';

export interface HiggsAudioOptions {
  /** Overrides of the environment configuration (lib/config/load-config.ts). */
  config?: Partial<HiggsConfig>;
  logger?: Logger;
}

export interface LoadOptions {
  onProgress?: (progress: { phase: string; progress: number }) => void;
  signal?: AbortSignal;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { chunk: number; chunks: number; columns: number; maxColumns: number }) => void;
  /** A caller-chosen id for logs (RunPod job id); generated when absent. */
  requestId?: string;
  /** stream() only: called once the last audio chunk has been yielded, with what the whole stream was. */
  onDone?: (summary: StreamDone) => void;
}

/** What a finished stream was: its seed, length, chunks and whether a cap cut it short. */
export interface StreamDone {
  seed: number;
  durationSeconds: number;
  chunks: ChunkReport[];
  truncated: boolean;
}

export interface GenerateOutput {
  audio: Buffer;
  format: FileFormat;
  sampleRate: number;
  durationSeconds: number;
  /** One report per generated chunk: its text, frames and why it stopped. */
  chunks: ChunkReport[];
  /** A chunk stopped at a cap (frames or context) instead of the model's end of audio. */
  truncated: boolean;
  seed: number;
  timings: { queueSeconds: number; generateSeconds: number; decodeSeconds: number; encodeSeconds: number; totalSeconds: number };
}

export type HealthStatus = 'idle' | 'loading' | 'ready' | 'failed' | 'disposed';

/** Where the concurrency limit came from: set explicitly, the engine's slots, or the fixed default (before a load). */
export type ConcurrencySource = 'env' | 'engine' | 'default';

export interface Health {
  status: HealthStatus;
  error: { code: string; message: string } | null;
  model: (ModelInfo & { tokenizer: string }) | null;
  codec: CodecInfo | null;
  voicesDir: string | null;
  loadSeconds: number | null;
  requests: { served: number; failed: number; cancelled: number; active: number; queued: number };
  /** Requests allowed to run at once, and where that number came from. */
  concurrency: { limit: number; source: ConcurrencySource };
  /** The engine's slot batch now: slots, how many hold a generation, how many generations wait; null until loaded. */
  batch: BatchStatus | null;
  averageGenerationSeconds: number | null;
  /** Generation wall time divided by audio duration (lower is faster; < 1 is faster than real time). */
  averageRealTimeFactor: number | null;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** Bytes: the CUDA allocator's allocated/reserved/peakAllocated and the driver's free/total; null on the CPU or when no model is loaded. */
  gpuMemory: GpuMemory | null;
}

let requestCounter = 0;

export class HiggsAudio implements AsyncDisposable {
  readonly config: HiggsConfig;
  private readonly log: Logger;
  private readonly queue: RequestQueue;
  private engine: NativeEngine | null = null;
  private tokenizer: HiggsTokenizer | null = null;
  private voices: VoiceLibrary | null = null;
  private loading: Promise<void> | null = null;
  private status: HealthStatus = 'idle';
  private loadError: HiggsError | null = null;
  private loadSeconds: number | null = null;
  private readonly stats = { served: 0, failed: 0, cancelled: 0, generationSeconds: 0, audioSeconds: 0 };
  private concurrencySource: ConcurrencySource;
  private cacheReleaser: GpuCacheReleaser | null = null;

  constructor(options: HiggsAudioOptions = {}) {
    this.config = { ...loadConfig(), ...options.config };
    this.log = options.logger ?? createLogger({ level: this.config.logLevel });
    this.queue = new RequestQueue(this.config.maxConcurrency, this.config.maxQueue);
    // An override without `sources` (a library caller's own number) is as explicit as the variable.
    const given = options.config;
    const explicit = given?.maxConcurrency !== undefined && given.sources === undefined ? true : this.config.sources.maxConcurrency === 'env';
    this.concurrencySource = explicit ? 'env' : 'default';
  }

  /** Requests allowed to run at once: final once load() resolved (the engine's slots unless set). */
  get maxConcurrency(): number {
    return this.queue.maxConcurrent;
  }

  /**
   * Loads the model, tokenizer, codec and voice library. Concurrent and repeated calls share one
   * load; after a failure the next call tries again.
   */
  load(options: LoadOptions = {}): Promise<void> {
    if (this.status === 'disposed') return Promise.reject(new HiggsError('E_NOT_LOADED', 'this HiggsAudio was disposed'));
    if (!this.loading) {
      this.loading = this.loadOnce(options).catch((error: unknown) => {
        this.loading = null; // a later call may retry (e.g. after fixing the volume)
        throw error;
      });
    }
    return this.loading;
  }

  private async loadOnce({ onProgress, signal }: LoadOptions): Promise<void> {
    this.status = 'loading';
    const started = performance.now();
    const c = this.config;
    try {
      const { modelDir, codecDir } = configuredDirs(c);
      const binding = loadNative();
      const { device, dtype } = resolveEngineDevice(c, binding);
      this.log.info({ event: 'load.start', modelDir, codecDir, device, dtype }, 'loading model');
      const engine = new binding.Engine({ device, dtype, maxContext: c.maxContext, fusedKernels: c.fusedKernels, nextKernels: c.nextKernels, decode: c.decode, slots: c.slots, batching: c.batching });
      this.engine = engine;
      throwIfCancelled(signal);
      const model = await engine.load(modelDir, (p) => onProgress?.({ phase: p.phase, progress: p.progress * 0.9 }));
      throwIfCancelled(signal);
      this.tokenizer = loadTokenizer(modelDir);
      await engine.loadCodec(codecDir);
      onProgress?.({ phase: 'codec', progress: 0.95 });
      if (c.voicesDir) {
        this.voices = new VoiceLibrary({
          dir: c.voicesDir,
          codecId: await codecFingerprint(codecDir),
          encode: (bytes) => encodeReferenceAudio(engine, bytes),
        });
      }
      this.applyConcurrencyPolicy(engine, model);
      onProgress?.({ phase: 'ready', progress: 1 });
      this.loadSeconds = (performance.now() - started) / 1e3;
      this.status = 'ready';
      this.loadError = null;
      this.log.info(
        { event: 'load.done', duration: this.loadSeconds, maxConcurrency: this.queue.maxConcurrent, concurrencySource: this.concurrencySource },
        'model loaded',
      );
    } catch (error) {
      const failure = error instanceof HiggsError ? error : new HiggsError(errorCode(error), (error as Error).message, { cause: error });
      this.status = 'failed';
      this.loadError = failure;
      await this.engine?.dispose().catch(() => undefined);
      this.engine = null;
      this.log.error({ event: 'load.failed', code: failure.code }, failure.message);
      throw failure;
    }
  }

  /**
   * With the weights, KV cache and codec in place, size the admission queue: the engine's slots
   * (the generations it decodes together), so that a RunPod worker takes only jobs it can start
   * and the platform scales out instead of piling them on one worker. A one-slot engine (the
   * GPU's graph decode unless HIGGS_SLOTS is set) thus runs one request at a time; HIGGS_MAX_CONCURRENCY admits
   * more, to overlap their voice encoding, codec decode and delivery with the next generation.
   * It also watches the GPU's cache.
   */
  private applyConcurrencyPolicy(engine: NativeEngine, info: ModelInfo): void {
    if (this.concurrencySource !== 'env') {
      this.queue.setMaxConcurrent(info.slots);
      this.concurrencySource = 'engine';
    }
    const memory = engine.gpuMemory(); // null on the CPU: nothing to release
    if (!memory) return;
    this.cacheReleaser = new GpuCacheReleaser(engine, this.config.gpuReleaseThresholdMb * 1024 * 1024, this.log);
  }

  /** A queue slot whose release also lets the GPU cache go once the engine is idle. */
  private async acquireSlot(signal?: AbortSignal): Promise<() => void> {
    const release = await this.queue.acquire(signal);
    return () => {
      release();
      void this.cacheReleaser?.afterRequest(this.queue.active > 0);
    };
  }

  /** Validates the request, waits for a slot, and returns the encoded audio file. */
  async generate(input: unknown, options: RequestOptions = {}): Promise<GenerateOutput> {
    const request = parseRequest(input);
    return this.admit(request, options, async (engine, tokenizer, requestId, queuedFor) => {
      const voices = await resolveVoices(request, this.voices, (bytes) => encodeReferenceAudio(engine, bytes));
      const result = await synthesizeSpeech(
        engine,
        tokenizer,
        { ...toSynthesisOptions(request), ...voices, outputFormat: request.output_format, sampleRate: request.sample_rate },
        { signal: options.signal, onProgress: options.onProgress },
      );
      this.record(result.timings.generateSeconds, result.durationSeconds);
      this.log.info(
        {
          requestId,
          event: 'generate.done',
          duration: result.timings.generateSeconds,
          chunks: result.chunks.length,
          truncated: result.truncated,
          audioSeconds: result.durationSeconds,
          batch: peakBatch(result.chunks),
        },
        'generated',
      );
      return {
        audio: result.audio,
        format: result.format,
        sampleRate: result.sampleRate,
        durationSeconds: result.durationSeconds,
        chunks: result.chunks,
        truncated: result.truncated,
        seed: result.seed,
        timings: { queueSeconds: queuedFor, ...result.timings, totalSeconds: queuedFor + result.timings.generateSeconds + result.timings.decodeSeconds + result.timings.encodeSeconds },
      };
    });
  }

  /**
   * Streams the request as encoded audio chunks (wav: a header with open sizes, then PCM16;
   * pcm: the PCM16 alone), decoded window by window as frames arrive. Breaking out of the loop cancels the request.
   */
  stream(input: unknown, options: RequestOptions = {}): AsyncIterable<Buffer> {
    const request = parseRequest(input);
    if (request.output_format !== 'wav' && request.output_format !== 'pcm') {
      throw new HiggsError('E_INPUT', 'output_format: streaming supports wav and pcm (PCM16) only');
    }
    if (request.sample_rate !== 24000) throw new HiggsError('E_INPUT', 'sample_rate: streams are 24000 Hz (the codec rate) for now');
    return this.streamChunks(request, options);
  }

  private async *streamChunks(request: ValidatedRequest, options: RequestOptions): AsyncGenerator<Buffer> {
    const requestId = options.requestId ?? `local-${++requestCounter}`;
    let release: (() => void) | null = null;
    try {
      await this.load({ signal: options.signal });
      release = await this.acquireSlot(options.signal);
      this.log.info({ requestId, event: 'stream.start', voice: describeVoice(request), chars: request.transcript.length }, 'stream started');
      const engine = this.engine!;
      const voices = await resolveVoices(request, this.voices, (bytes) => encodeReferenceAudio(engine, bytes));
      const started = performance.now();
      const hooks = { signal: options.signal, onProgress: options.onProgress };
      const chunks = streamSpeech(this.engine!, this.tokenizer!, { ...toSynthesisOptions(request), ...voices }, hooks, ({ audioSeconds, result }) => {
        const seconds = (performance.now() - started) / 1e3;
        this.record(seconds, audioSeconds);
        this.log.info(
          { requestId, event: 'stream.done', duration: seconds, chunks: result.chunks.length, truncated: result.truncated, audioSeconds, batch: peakBatch(result.chunks) },
          'streamed',
        );
        options.onDone?.({ seed: result.seed, durationSeconds: audioSeconds, chunks: result.chunks, truncated: result.truncated });
      });
      // pcm is the same stream without its WAV header (the first chunk).
      let header = request.output_format === 'pcm';
      for await (const chunk of chunks) {
        if (header) {
          header = false;
          continue;
        }
        yield chunk;
      }
    } catch (error) {
      this.countFailure(error, requestId);
      throw error;
    } finally {
      release?.();
    }
  }

  /** Runs `work` under the queue with the model loaded, with request logging and counters. */
  private async admit<T>(
    request: ValidatedRequest,
    options: RequestOptions,
    work: (engine: NativeEngine, tokenizer: HiggsTokenizer, requestId: string, queuedFor: number) => Promise<T>,
  ): Promise<T> {
    const requestId = options.requestId ?? `local-${++requestCounter}`;
    const enqueued = performance.now();
    let release: (() => void) | null = null;
    try {
      await this.load({ signal: options.signal });
      release = await this.acquireSlot(options.signal);
      const queuedFor = (performance.now() - enqueued) / 1e3;
      this.log.info(
        { requestId, event: 'request.start', voice: describeVoice(request), chars: request.transcript.length, queueSeconds: queuedFor },
        'request started',
      );
      return await work(this.engine!, this.tokenizer!, requestId, queuedFor);
    } catch (error) {
      this.countFailure(error, requestId);
      throw error;
    } finally {
      release?.();
    }
  }

  private countFailure(error: unknown, requestId: string): void {
    const code = errorCode(error);
    if (code === 'E_CANCELLED') this.stats.cancelled += 1;
    else this.stats.failed += 1;
    this.log.warn({ requestId, event: 'request.failed', code }, (error as Error).message);
  }

  private record(generationSeconds: number, audioSeconds: number): void {
    this.stats.served += 1;
    this.stats.generationSeconds += generationSeconds;
    this.stats.audioSeconds += audioSeconds;
  }

  /**
   * Stores a new preset voice: `audio` (any readable format, within the reference-audio limits)
   * as NAME.wav and `transcript` as NAME.txt in the voices directory, then encodes its codes once
   * (cached), so the first request that uses it does not wait for the encoder.
   * @throws HiggsError E_INPUT: no voices directory, a bad or taken name, unreadable audio, a bad
   *   transcript; VoicesReadOnlyError (E_INPUT) where the directory cannot be written.
   */
  async addVoice(name: string, audio: Uint8Array, transcript: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.load({ signal: options.signal });
    const dir = this.config.voicesDir;
    if (!dir || !this.voices) throw new HiggsError('E_INPUT', 'no voices directory is configured (HIGGS_VOICES_DIR)');
    const text = cleanText(transcript, DEFAULT_MAX_TRANSCRIPT_CHARS, 'ref_text');
    await addPreset(dir, name, await toPresetWav(audio), text);
    try {
      await this.voices.resolve(name);
    } catch (error) {
      await removePreset(dir, name).catch(() => undefined);
      throw error;
    }
  }

  /** Removes a preset voice; false when there is none of that name. */
  async removeVoice(name: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    await this.load({ signal: options.signal });
    const dir = this.config.voicesDir;
    if (!dir) throw new HiggsError('E_INPUT', 'no voices directory is configured (HIGGS_VOICES_DIR)');
    return removePreset(dir, name);
  }

  /** The preset voices of the voices directory (loads the service first; [] without a directory). */
  async voiceNames(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    await this.load({ signal: options.signal });
    return this.voices ? this.voices.list() : [];
  }

  health(): Health {
    const info = this.engine?.info() ?? null;
    const memory = process.memoryUsage();
    const served = this.stats.served;
    return {
      status: this.status,
      error: this.loadError ? { code: this.loadError.code, message: this.loadError.message } : null,
      model: info && this.tokenizer ? { ...info, tokenizer: this.tokenizer.source } : null,
      codec: this.engine?.codecInfo() ?? null,
      voicesDir: this.config.voicesDir ?? null,
      loadSeconds: this.loadSeconds,
      requests: { served, failed: this.stats.failed, cancelled: this.stats.cancelled, active: this.queue.active, queued: this.queue.queued },
      concurrency: { limit: this.queue.maxConcurrent, source: this.concurrencySource },
      batch: this.status === 'ready' ? (this.engine?.batchStatus() ?? null) : null,
      averageGenerationSeconds: served ? this.stats.generationSeconds / served : null,
      averageRealTimeFactor: this.stats.audioSeconds > 0 ? this.stats.generationSeconds / this.stats.audioSeconds : null,
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external },
      gpuMemory: this.status === 'ready' ? (this.engine?.gpuMemory() ?? null) : null,
    };
  }

  /** Waits for running requests' engine work to finish, then frees the model. Idempotent. */
  async dispose(): Promise<void> {
    if (this.status === 'disposed') return;
    this.status = 'disposed';
    this.cacheReleaser = null;
    await this.loading?.catch(() => undefined);
    await this.engine?.dispose();
    this.engine = null;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new HiggsError('E_CANCELLED', 'loading was cancelled');
}

/** For logs: a preset or profile name, never inline audio. */
function describeVoice(request: ValidatedRequest): string {
  const ref = request.ref_audio;
  if (!ref) return request.speakers ? `speakers:${Object.keys(request.speakers).length}` : 'smart';
  return ref.kind === 'inline' ? 'inline' : ref.kind === 'profile' ? `profile:${ref.name}` : ref.name;
}

/** The model and codec to load; an unconfigured one is a clear error before the addon loads. */
function configuredDirs(c: HiggsConfig): { modelDir: string; codecDir: string } {
  const missing = [c.modelDir === null && 'HIGGS_MODEL_DIR', c.codecDir === null && 'HIGGS_CODEC_DIR'].filter(Boolean);
  if (c.modelDir === null || c.codecDir === null) {
    throw new HiggsError(
      'E_INPUT',
      `no model configured: set ${missing.join(' and ')} to a Higgs Audio V2 checkpoint and codec. ` +
        'The tiny random model used by default exists only in a source checkout (npm run fixtures); an installed package has none.',
    );
  }
  return { modelDir: c.modelDir, codecDir: c.codecDir };
}

/** The largest batch any chunk of a request ran in (1 = alone), for its log line. */
function peakBatch(chunks: readonly ChunkReport[]): number {
  return chunks.reduce((most, chunk) => Math.max(most, chunk.peakBatch), 1);
}
