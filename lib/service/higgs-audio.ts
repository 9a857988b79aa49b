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
import { CODES_FORMAT, OUTPUT_LIMITS, isDecodeRequest, parseDecodeRequest, parseRequest, type DecodeRequest, type OutputFormat, type ResultFormat, type ValidatedRequest } from '../request/schema.js';
import { toSynthesisOptions } from './synthesis-options.js';
import { resolveEngineDevice } from './engine-device.js';
import { engineLogCallback } from './engine-log.js';
import { resolveVoices } from '../request/resolve-voices.js';
import { encodeSamples, synthesizeSpeech } from '../speech/whole-file.js';
import { synthesizeCodes, type ChunkReport } from '../speech/synthesis.js';
import type { HistoryTurn } from '../text/prompt/render.js';
import { streamPieceSamples, streamSpeech } from '../speech/stream.js';
import { atSpeed } from '../speech/timestamps.js';
import { loadTokenizer, type HiggsTokenizer } from '../text/tokenizer.js';
import { DEFAULT_MAX_TRANSCRIPT_CHARS, VoiceLibrary } from '../voices/library.js';
import { addPreset, presetSlot, removePreset } from '../voices/presets.js';
import { cleanText } from '../voices/transcript.js';
import { decodeCodes, encodeReferenceAudio, toPresetWav } from '../audio/codec.js';
import { assertSameCodec, codesToWire, wireToCodes } from '../audio/codes-wire.js';
import { createStreamStretcher } from '../audio/time-stretch.js';
import { createStreamResampler } from '../audio/stream-resampler.js';
import { createStreamEncoder } from '../audio/stream-encoder.js';
import { chainStages } from '../audio/sample-stage.js';
import { packageVersion } from '../common/package-root.js';
import { buildInfo, type BuildInfo } from '../native/build-info.js';
import { modelFingerprint } from './model-fingerprint.js';
import { ResultCache } from './result-cache.js';
import { holdsResult, notModifiedOutput, withReferenceAudio } from './request-prelude.js';
import { decodeWork, engineIdentity, resultKey, speechWork, type EngineIdentity } from './result-key.js';
import { checkVoiceSlot, saveGeneratedVoice } from './save-voice.js';
import type { PromptVoices } from '../request/resolve-voices.js';
import type { DecodeOutput, GenerateOutput, RequestOptions } from './request-types.js';
import { tell, type ServiceObserver } from './observer.js';

export type { DecodeOutput, GenerateOutput, RequestOptions, StreamDone, StreamStart } from './request-types.js';

export interface HiggsAudioOptions {
  /** Overrides of the environment configuration (lib/config/load-config.ts). */
  config?: Partial<HiggsConfig>;
  logger?: Logger;
  /** Told of queue waits, finished generations and cache lookups (lib/service/observer.ts), e.g. for metrics. */
  observer?: ServiceObserver;
}

export interface LoadOptions {
  onProgress?: (progress: { phase: string; progress: number }) => void;
  signal?: AbortSignal;
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
  /**
   * served; failed; cancelled (an abort, or a stream its reader stopped before its end: a client
   * that hung up or was cut off); rejected (E_BUSY: refused at admission, a full queue, not a
   * failure); active and queued now.
   */
  requests: { served: number; failed: number; cancelled: number; rejected: number; active: number; queued: number };
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
  /** The package version and what the addon was built with (abi, libtorch, CUDA or "cpu", kernel archs). */
  build: BuildInfo;
}

let requestCounter = 0;

/** Room in a result cache entry for what a result says besides its bytes (chunks and their text, codes). */
const RESULT_META_BYTES = 16 * 1024 * 1024;

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
  private readonly stats = { served: 0, failed: 0, cancelled: 0, rejected: 0, generationSeconds: 0, audioSeconds: 0 };
  private concurrencySource: ConcurrencySource;
  private cacheReleaser: GpuCacheReleaser | null = null;
  private identity: EngineIdentity | null = null;
  private readonly results: ResultCache | null;
  private readonly observer: ServiceObserver | undefined;

  constructor(options: HiggsAudioOptions = {}) {
    this.config = { ...loadConfig(), ...options.config };
    this.observer = options.observer;
    this.log = options.logger ?? createLogger({ level: this.config.logLevel });
    this.queue = new RequestQueue(this.config.maxConcurrency, this.config.maxQueue);
    // An override without `sources` (a library caller's own number) is as explicit as the variable.
    const given = options.config;
    const explicit = given?.maxConcurrency !== undefined && given.sources === undefined ? true : this.config.sources.maxConcurrency === 'env';
    this.concurrencySource = explicit ? 'env' : 'default';
    const cacheDir = this.config.resultCacheDir;
    this.results = cacheDir
      ? new ResultCache({
          dir: cacheDir,
          maxBytes: this.config.resultCacheMb * 1024 * 1024,
          // No result is larger: a bigger file is not one of ours, and is never read.
          maxEntryBytes: OUTPUT_LIMITS.maxBytes + RESULT_META_BYTES,
          onError: (error) => this.log.warn({ event: 'result-cache.error' }, (error as Error).message),
        })
      : null;
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
      const loadOptions = { maxContext: c.maxContext, fusedKernels: c.fusedKernels, nextKernels: c.nextKernels, decode: c.decode, slots: c.slots, batching: c.batching, weights: c.weights };
      const { device, dtype, dtypeReason } = resolveEngineDevice(c, binding, { modelDir, options: loadOptions });
      this.log.info({ event: 'load.start', modelDir, codecDir, device, dtype, dtypeReason, weights: c.weights }, `loading model (${dtype}: ${dtypeReason}; weights ${c.weights})`);
      const options = { device, dtype, ...loadOptions };
      const engine = new binding.Engine(options, engineLogCallback(this.log)); // libtorch's warnings as log events, not raw stderr
      this.engine = engine;
      throwIfCancelled(signal);
      const model = await engine.load(modelDir, (p) => onProgress?.({ phase: p.phase, progress: p.progress * 0.9 }));
      throwIfCancelled(signal);
      this.tokenizer = loadTokenizer(modelDir);
      await engine.loadCodec(codecDir);
      onProgress?.({ phase: 'codec', progress: 0.95 });
      const codecId = await codecFingerprint(codecDir);
      this.identity = engineIdentity(packageVersion(), await modelFingerprint(modelDir), codecId, model);
      if (c.voicesDir) {
        this.voices = new VoiceLibrary({
          dir: c.voicesDir,
          codecId,
          encode: (bytes) => encodeReferenceAudio(engine, bytes),
          onCacheLookup: (hit) => tell(this.observer, (o) => o.onCache?.('voice', hit)),
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

  /**
   * Validates the request, waits for a slot, and returns the encoded audio file (or, for
   * output_format "codes", the codes). A request with `codes` and no transcript is decode-only
   * (decode()). With a result cache, a result whose hash is cached is read, not generated.
   */
  async generate(input: unknown, options: RequestOptions = {}): Promise<GenerateOutput> {
    if (isDecodeRequest(input)) throw new HiggsError('E_INPUT', 'codes: a request of codes without a transcript is decode-only: call decode()');
    const request = parseRequest(input);
    return this.admit(describeVoice(request), request.transcript.length, options, async (engine, tokenizer, requestId, queuedFor) => {
      if (request.save_voice !== undefined) await checkVoiceSlot(this.config.voicesDir, request.save_voice, request.transcript);
      const plan = await this.plan(await withReferenceAudio(request, options), engine, 'file');
      // A voice to save needs the generation's codes and samples, which a cached file lacks.
      const reusable = request.save_voice === undefined;
      if (reusable && (await holdsResult(options.ifNoneMatch, plan.hash, this.results, true))) {
        return { ...notModifiedOutput(plan.hash, request, queuedFor), chunks: [], truncated: false, seed: plan.seed };
      }
      const hit = reusable ? await this.cachedResult(plan.hash, queuedFor) : undefined;
      if (hit) return hit as GenerateOutput;
      const synthesis = { ...toSynthesisOptions(request), ...plan.voices, seed: plan.seed };
      const hooks = { signal: options.signal, onProgress: options.onProgress };
      const t0 = performance.now();
      let out: GenerateOutput;
      let saving: Parameters<typeof saveGeneratedVoice>[2] | null = null;
      if (request.output_format === CODES_FORMAT) {
        const generated = await synthesizeCodes(engine, tokenizer, synthesis, hooks);
        const generateSeconds = (performance.now() - t0) / 1e3;
        const codec = engine.codecInfo()!;
        const codes = codesToWire(generated.codes, this.identity!.codec);
        out = {
          audio: Buffer.from(JSON.stringify(codes)),
          format: CODES_FORMAT,
          sampleRate: codec.sampleRate,
          durationSeconds: (generated.frames * codec.samplesPerFrame) / codec.sampleRate,
          codes,
          chunks: generated.chunks,
          truncated: generated.truncated,
          seed: generated.seed,
          resultHash: plan.hash,
          cached: false,
          timings: { queueSeconds: queuedFor, generateSeconds, decodeSeconds: 0, encodeSeconds: 0, totalSeconds: queuedFor + generateSeconds },
        };
        if (request.save_voice !== undefined) {
          saving = { codes: generated.codes, samples: await decodeCodes(engine, generated.codes), sampleRate: codec.sampleRate, chunks: generated.chunks, codecId: this.identity!.codec };
        }
      } else {
        const result = await synthesizeSpeech(engine, tokenizer, { ...synthesis, outputFormat: request.output_format, sampleRate: request.sample_rate, speed: request.speed }, hooks);
        const t = result.timings;
        out = {
          audio: result.audio,
          format: request.output_format,
          sampleRate: result.sampleRate,
          durationSeconds: result.durationSeconds,
          chunks: result.chunks,
          truncated: result.truncated,
          seed: result.seed,
          resultHash: plan.hash,
          cached: false,
          timings: { queueSeconds: queuedFor, ...t, totalSeconds: queuedFor + t.generateSeconds + t.decodeSeconds + t.encodeSeconds },
        };
        if (request.save_voice !== undefined) {
          saving = { codes: result.codes, samples: result.samples, sampleRate: engine.codecInfo()!.sampleRate, chunks: result.chunks, codecId: this.identity!.codec };
        }
      }
      this.record(out.timings.generateSeconds, out.durationSeconds);
      tell(this.observer, (o) => o.onGenerated?.({ kind: 'file', audioSeconds: out.durationSeconds, frames: totalFrames(out.chunks), generateSeconds: out.timings.generateSeconds }));
      this.log.info(
        { requestId, event: 'generate.done', duration: out.timings.generateSeconds, chunks: out.chunks.length, truncated: out.truncated, audioSeconds: out.durationSeconds, batch: peakBatch(out.chunks) },
        'generated',
      );
      await this.keepResult(out);
      if (saving) {
        // A voice not saved (its name taken meanwhile, a failed write) is reported, the audio kept.
        out.savedVoice = await saveGeneratedVoice(this.config.voicesDir!, request.save_voice!, saving);
        if (!out.savedVoice.saved) this.log.warn({ requestId, event: 'save_voice.skipped', name: out.savedVoice.name }, `voice not saved: ${out.savedVoice.reason}`);
      }
      await releaseMemoryAfter(out);
      return out;
    });
  }

  /**
   * A decode-only request (codes as output_format "codes" gave them, and the output fields):
   * the codes decoded by the loaded codec, stretched, resampled and encoded as asked.
   * @throws HiggsError E_INPUT for bad codes, codes of another codec, or a file over
   *   OUTPUT_LIMITS (lib/request/defaults.ts; refused when validated, before anything runs).
   */
  async decode(input: unknown, options: Pick<RequestOptions, 'signal' | 'requestId' | 'ifNoneMatch'> = {}): Promise<DecodeOutput> {
    const request = parseDecodeRequest(input);
    return this.admit('codes', 0, options, async (engine, _tokenizer, requestId, queuedFor) => {
      assertSameCodec(request.codes, this.identity!.codec, 'codes');
      const hash = resultKey(this.identity!, decodeWork(request));
      if (await holdsResult(options.ifNoneMatch, hash, this.results, true)) return notModifiedOutput(hash, request, queuedFor);
      const hit = await this.cachedResult(hash, queuedFor);
      if (hit) return hit;
      const t0 = performance.now();
      const samples = await decodeCodes(engine, wireToCodes(request.codes));
      const t1 = performance.now();
      const file = await encodeSamples(samples, engine.codecInfo()!.sampleRate, {
        outputFormat: request.output_format as Exclude<ResultFormat, typeof CODES_FORMAT>,
        sampleRate: request.sample_rate,
        speed: request.speed,
      });
      const t2 = performance.now();
      const out: DecodeOutput = {
        audio: file.bytes,
        format: request.output_format,
        sampleRate: file.sampleRate,
        durationSeconds: file.durationSeconds,
        resultHash: hash,
        cached: false,
        timings: { queueSeconds: queuedFor, generateSeconds: 0, decodeSeconds: (t1 - t0) / 1e3, encodeSeconds: (t2 - t1) / 1e3, totalSeconds: queuedFor + (t2 - t0) / 1e3 },
      };
      this.log.info({ requestId, event: 'decode.done', frames: request.codes.frames, audioSeconds: out.durationSeconds }, 'decoded');
      await this.keepResult(out);
      await releaseMemoryAfter(out);
      return out;
    });
  }

  /**
   * The seed and result hash `input` would run with, without running it (voices are resolved,
   * and so encoded once, to know their codes: under admission, like a request, E_BUSY when full).
   * Only a request with a seed can match an earlier hash: without one each call draws a new seed.
   * (If-None-Match needs no call of its own: RequestOptions.ifNoneMatch.)
   */
  async resultKey(input: unknown, options: { stream?: boolean; signal?: AbortSignal } = {}): Promise<{ seed: number | null; resultHash: string }> {
    if (isDecodeRequest(input)) {
      const request = parseDecodeRequest(input);
      await this.load({ signal: options.signal });
      return { seed: null, resultHash: resultKey(this.identity!, decodeWork(request)) };
    }
    const request = parseRequest(input);
    return this.admit(describeVoice(request), request.transcript.length, options, async (engine) => {
      const plan = await this.plan(request, engine, options.stream ? 'stream' : 'file');
      return { seed: plan.seed, resultHash: plan.hash };
    });
  }

  /** A request's voices resolved, its seed drawn when absent, and its result hash. */
  private async plan(
    request: ValidatedRequest,
    engine: NativeEngine,
    delivery: 'file' | 'stream',
    history?: readonly HistoryTurn[],
  ): Promise<{ voices: PromptVoices; seed: number; hash: string }> {
    const voices = await resolveVoices(request, { library: this.voices, encodeInline: (bytes) => encodeReferenceAudio(engine, bytes), codecId: this.identity!.codec });
    const seed = request.seed ?? Math.floor(Math.random() * 2 ** 32);
    return { voices, seed, hash: resultKey(this.identity!, speechWork(request, seed, voices, delivery, history)) };
  }

  /** A cached result under `hash`, with this call's queue time; undefined without a cache or a hit. */
  private async cachedResult(hash: string, queuedFor: number): Promise<DecodeOutput | undefined> {
    const entry = await this.results?.get(hash);
    if (this.results) tell(this.observer, (o) => o.onCache?.('result', entry !== undefined));
    if (!entry) return undefined;
    this.stats.served += 1; // served, though not generated: the real-time factor leaves it out
    const meta = entry.meta as Omit<GenerateOutput, 'audio' | 'cached' | 'timings' | 'savedVoice'>;
    return { ...meta, audio: entry.bytes, cached: true, timings: { queueSeconds: queuedFor, generateSeconds: 0, decodeSeconds: 0, encodeSeconds: 0, totalSeconds: queuedFor } };
  }

  /** Keeps a finished result in the result cache (if any); a disk problem is only logged. */
  private async keepResult(out: DecodeOutput): Promise<void> {
    if (!this.results) return;
    const { audio, timings: _timings, cached: _cached, ...meta } = out as GenerateOutput;
    await this.results.put(out.resultHash, { meta: meta as unknown as Record<string, unknown>, bytes: audio });
  }

  /**
   * Streams the request as the bytes of its output_format (every audio format; all chunks in
   * order are one file, lib/audio/stream-encoder.ts) at its sample_rate and speed, decoded window by
   * window as frames arrive, each chunk at most config.streamPartMs of audio. Breaking out of the
   * loop cancels the request.
   */
  stream(input: unknown, options: RequestOptions = {}): AsyncIterable<Buffer> {
    const request = parseRequest(input);
    if (request.output_format === CODES_FORMAT) {
      throw new HiggsError('E_INPUT', 'output_format: "codes" are not streamed (every audio format is)');
    }
    if (request.save_voice !== undefined) throw new HiggsError('E_INPUT', 'save_voice: only a whole-file request saves its voice');
    return this.streamChunks(request, options);
  }

  private async *streamChunks(request: ValidatedRequest, options: RequestOptions): AsyncGenerator<Buffer> {
    const requestId = options.requestId ?? `local-${++requestCounter}`;
    let release: (() => void) | null = null;
    let atYield = false; // a return() while the reader holds a chunk: it stopped before the end
    const enqueued = performance.now();
    try {
      await this.load({ signal: options.signal });
      release = await this.acquireSlot(options.signal);
      tell(this.observer, (o) => o.onQueueWait?.((performance.now() - enqueued) / 1e3));
      this.log.info({ requestId, event: 'stream.start', voice: describeVoice(request), chars: request.transcript.length }, 'stream started');
      const engine = this.engine!;
      const plan = await this.plan(await withReferenceAudio(request, options), engine, 'stream', options.history);
      if (await holdsResult(options.ifNoneMatch, plan.hash, this.results, false)) {
        options.onStart?.({ seed: plan.seed, resultHash: plan.hash, sampleRate: request.sample_rate, notModified: true });
        return; // the caller has these bytes: nothing to generate
      }
      options.onStart?.({ seed: plan.seed, resultHash: plan.hash, sampleRate: request.sample_rate });
      const started = performance.now();
      const hooks = { signal: options.signal, onProgress: options.onProgress };
      const synthesis = { ...toSynthesisOptions(request), ...plan.voices, seed: plan.seed, history: options.history };
      const codecRate = engine.codecInfo()!.sampleRate;
      // Stretched at the codec's rate, then resampled: the order of a whole file (whole-file.ts).
      const output = {
        stage: chainStages(createStreamStretcher(codecRate, request.speed), createStreamResampler(codecRate, request.sample_rate)),
        sampleRate: request.sample_rate,
        encoder: createStreamEncoder(request.output_format as OutputFormat, request.sample_rate), // stream() refused "codes"
        pieceSamples: streamPieceSamples(request.sample_rate, this.config.streamPartMs),
      };
      const chunks = streamSpeech(engine, this.tokenizer!, synthesis, hooks, ({ audioSeconds, result }) => {
        const seconds = (performance.now() - started) / 1e3;
        this.record(seconds, audioSeconds);
        tell(this.observer, (o) => o.onGenerated?.({ kind: 'stream', audioSeconds, frames: totalFrames(result.chunks), generateSeconds: seconds }));
        this.log.info(
          { requestId, event: 'stream.done', duration: seconds, chunks: result.chunks.length, truncated: result.truncated, audioSeconds, batch: peakBatch(result.chunks) },
          'streamed',
        );
        options.onDone?.({ seed: result.seed, durationSeconds: audioSeconds, chunks: atSpeed(result.chunks, request.speed), truncated: result.truncated, resultHash: plan.hash, turns: result.turns });
      }, output);
      for await (const chunk of chunks) {
        atYield = true;
        yield chunk;
        atYield = false;
      }
    } catch (error) {
      atYield = false;
      this.countFailure(error, requestId);
      throw error;
    } finally {
      // Left at a yield: the reader stopped before the end (a client that hung up or was cut off), which cancelled the generation.
      if (atYield) this.countFailure(new HiggsError('E_CANCELLED', 'the stream was stopped before its end (its reader went away)'), requestId);
      release?.();
    }
  }

  /** Runs `work` under the queue with the model loaded, with request logging and counters. */
  private async admit<T>(
    voice: string,
    chars: number,
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
      tell(this.observer, (o) => o.onQueueWait?.(queuedFor));
      this.log.info(
        { requestId, event: 'request.start', voice, chars, queueSeconds: queuedFor },
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
    else if (code === 'E_BUSY') this.stats.rejected += 1; // refused before it started: not a failure
    else this.stats.failed += 1;
    this.log.warn({ requestId, event: code === 'E_BUSY' ? 'request.rejected' : 'request.failed', code }, (error as Error).message);
  }

  private record(generationSeconds: number, audioSeconds: number): void {
    this.stats.served += 1;
    this.stats.generationSeconds += generationSeconds;
    this.stats.audioSeconds += audioSeconds;
  }

  /**
   * Stores a new preset voice: `audio` (any readable format, within the reference-audio limits)
   * as NAME.wav and `transcript` as NAME.txt in the voices directory. Its codes are encoded first
   * (cached, so the first request that uses it does not wait for the encoder): audio the codec
   * refuses never reaches the directory. Of concurrent uploads of one name exactly one is stored.
   * @throws HiggsError E_INPUT: no voices directory, a bad name, unreadable audio, a bad
   *   transcript; VoiceTakenError (E_INPUT) for a taken name; VoicesReadOnlyError (E_INPUT) where
   *   the directory cannot be written.
   */
  async addVoice(name: string, audio: Uint8Array, transcript: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.load({ signal: options.signal });
    const dir = this.config.voicesDir;
    if (!dir || !this.voices) throw new HiggsError('E_INPUT', 'no voices directory is configured (HIGGS_VOICES_DIR)');
    const text = cleanText(transcript, DEFAULT_MAX_TRANSCRIPT_CHARS, 'ref_text');
    await presetSlot(dir, name); // a bad, taken or read-only name fails before the encoder runs
    // Reading and encoding the clip is engine work: it takes a request slot (E_BUSY when the queue is full).
    const release = await this.acquireSlot(options.signal);
    let wav: Buffer;
    try {
      wav = await toPresetWav(audio);
      await this.voices.clipCodes(wav);
    } finally {
      release();
    }
    await addPreset(dir, name, wav, text); // the claim: VoiceTakenError if another upload won meanwhile
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
      requests: { served, failed: this.stats.failed, cancelled: this.stats.cancelled, rejected: this.stats.rejected, active: this.queue.active, queued: this.queue.queued },
      concurrency: { limit: this.queue.maxConcurrent, source: this.concurrencySource },
      batch: this.status === 'ready' ? (this.engine?.batchStatus() ?? null) : null,
      averageGenerationSeconds: served ? this.stats.generationSeconds / served : null,
      averageRealTimeFactor: this.stats.audioSeconds > 0 ? this.stats.generationSeconds / this.stats.audioSeconds : null,
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external },
      gpuMemory: this.status === 'ready' ? (this.engine?.gpuMemory() ?? null) : null,
      build: buildInfo(),
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

/** A result this long or this large freed enough working memory (codec tensors, copies) to hand back. */
const LARGE_RESULT = { seconds: 60, bytes: 16 * 2 ** 20 };

/** After a large result: glibc would keep the memory its work freed; give it back (milliseconds, off the JS thread). */
async function releaseMemoryAfter(out: DecodeOutput): Promise<void> {
  if (out.durationSeconds < LARGE_RESULT.seconds && out.audio.length < LARGE_RESULT.bytes) return;
  await loadNative()
    .releaseMemory()
    .catch(() => undefined); // only an optimisation
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new HiggsError('E_CANCELLED', 'loading was cancelled');
}

/** For logs: a preset or profile name, never inline audio. */
function describeVoice(request: ValidatedRequest): string {
  const ref = request.ref_audio;
  if (!ref) return request.speakers ? `speakers:${Object.keys(request.speakers).length}` : 'smart';
  return ref.kind === 'inline' || ref.kind === 'codes' ? ref.kind : ref.kind === 'profile' ? `profile:${ref.name}` : ref.name;
}

/** The model and codec to load; an unconfigured one is a clear error before the addon loads. */
function configuredDirs(c: HiggsConfig): { modelDir: string; codecDir: string } {
  const missing = [c.modelDir === null && 'HIGGS_MODEL_DIR', c.codecDir === null && 'HIGGS_CODEC_DIR'].filter(Boolean);
  if (c.modelDir === null || c.codecDir === null) {
    throw new HiggsError(
      'E_INPUT',
      `no model configured: set ${missing.join(' and ')} to a Higgs Audio V2 checkpoint and codec, or run \`higgs-audio pull\` (its cache is found by itself). ` +
        'The tiny random model used by default exists only in a source checkout (npm run fixtures); an installed package has none.',
    );
  }
  return { modelDir: c.modelDir, codecDir: c.codecDir };
}

/** The codec frames generated for a request's chunks. */
function totalFrames(chunks: readonly ChunkReport[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.frames, 0);
}

/** The largest batch any chunk of a request ran in (1 = alone), for its log line. */
function peakBatch(chunks: readonly ChunkReport[]): number {
  return chunks.reduce((most, chunk) => Math.max(most, chunk.peakBatch), 1);
}
