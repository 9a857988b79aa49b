/**
 * The addon's whole typed surface: everything higgs_audio.node exports, as this library sees it.
 * The C++ side of each type is one reader or writer in native/binding/convert.cc (and the struct
 * in native/core/engine/engine.h); lib/native/loader.ts only finds and loads the addon.
 */

export interface EngineOptions {
  /** "cpu" (default) or "cuda" / "cuda:N". */
  device?: string;
  /** "float32" (default), "bfloat16" or "float16". */
  dtype?: string;
  /** KV-cache positions preallocated at load (default 4096). */
  maxContext?: number;
  /** Intra-op CPU threads; 0 = libtorch's default. */
  threads?: number;
  /** Decode steps: "auto" (default: CUDA graphs on a GPU, eager on the CPU), "eager", "static" or "graph". */
  decode?: 'auto' | 'eager' | 'static' | 'graph';
  /** The fused CUDA decode kernels where the build and the GPU have them (default true; false: ATen ops, for comparisons). */
  fusedKernels?: boolean;
  /** The candidate successors of the norm and GEMV kernels (default false); process-wide, the last Engine made decides. */
  nextKernels?: boolean;
  /**
   * Generations decoded together, each in a slot with its own KV cache of maxContext positions
   * (continuous batching). 0 (default): with eager decode 4 on the CPU, on a GPU what its free
   * memory holds after the weights (at most 32); with static or graph decode 1, and more there
   * keep the rows' decode state on the device (one captured graph per row bucket). Load fails (E_INPUT) below 0, above constants.limits.maxSlots,
   * or when the slots' KV caches would not fit in the device's free memory.
   */
  slots?: number;
  /**
   * How a step of several slots is computed: "exact" (default: each row as at batch 1, so a
   * request's codes never depend on its neighbours) or "fast" (one batched forward, each weight
   * read once per step for every row; a row may differ in the last bits from its solo run).
   */
  batching?: 'exact' | 'fast';
  /**
   * How the LM's projections are held: "dense" (default: in dtype) or "int8" (int8 weights with
   * one scale per output channel, bf16 activations; embeddings and norms stay in dtype): about
   * half of bf16's memory and weight bytes read per step, not bit-equal to dense.
   */
  weights?: 'dense' | 'int8';
}

export interface HostInfo {
  /** The CPU has AVX512-BF16 dot products (and the OS saves their state). */
  avx512Bf16: boolean;
  /** The CPU has AMX-BF16 tiles (and the OS supports their state). */
  amxBf16: boolean;
  /** Bytes this process could still get: MemAvailable, lowered to the cgroup's headroom; 0 = unknown. */
  availableMemory: number;
}

export interface LoadPlan {
  /** The model's tensors as stored: "bfloat16", "float32", "float16" or "mixed". */
  checkpointDtype: string;
  parameterCount: number;
  /** The model's tensors as stored. */
  checkpointBytes: number;
  /** The weights as held: in the options' dtype, or with int8 projections (options.weights). */
  weightBytes: number;
  /** Every KV cache the load allocates (slots x maxContext positions). */
  kvCacheBytes: number;
  /** Working memory kept aside (activations, codec, allocator). */
  reserveBytes: number;
  /** weightBytes + kvCacheBytes + reserveBytes. */
  neededBytes: number;
  /** What the options' device has free now; 0 = unknown (not checked). */
  availableBytes: number;
}

export interface LoadProgress {
  phase: 'config' | 'weights' | 'cache' | 'ready';
  /** 0..1 over the whole load, non-decreasing. */
  progress: number;
}

export interface ModelInfo {
  modelDir: string;
  format: 'original' | 'transformers' | 'random';
  device: string;
  dtype: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  numCodebooks: number;
  codebookVocab: number;
  maxContext: number;
  parameterCount: number;
  weightBytes: number;
  kvCacheBytes: number;
  loadSeconds: number;
  hasTextHead: boolean;
  intermediateSize: number;
  /** The decode path in use. */
  decode: 'eager' | 'static' | 'graph';
  /** Capturing every KV bucket's CUDA graph (part of loadSeconds; 0 without graphs). */
  graphCaptureSeconds: number;
  /** Static/graph decode: the KV lengths a step attends over (empty for eager). */
  kvBuckets: number[];
  /** Static/graph decode with slots > 1: the row counts a step is captured for (empty otherwise). */
  rowBuckets: number[];
  /** The decode step runs the fused CUDA kernels. */
  fusedKernels: boolean;
  /** Generations decoded together: concurrent generate() calls beyond this wait in arrival order. */
  slots: number;
  /** How a step of several slots is computed (EngineOptions.batching). */
  batching: 'exact' | 'fast';
  /** KV positions each slot holds (maxContext). */
  slotContext: number;
  /** How the projections are held (EngineOptions.weights); weightBytes counts them as held. */
  weightFormat: 'dense' | 'int8';
}

export interface ForwardRequest {
  /** Token id per position; ignored at audio positions. */
  inputIds: Int32Array;
  /** 1 at audio positions (audio embedding, audio norms and MLP), 0 at text positions. */
  audioMask: Uint8Array;
  /** numCodebooks codes per audio position, frame-major. */
  audioCodes?: Int32Array;
  /** Absolute position of inputIds[0]; the cache keeps positions before it (0 = fresh). */
  startPos?: number;
  /** Rows that get logits: the last (default), all, or the audio positions. */
  logits?: 'last' | 'all' | 'audio';
  /** Also compute text-head logits (needs a checkpoint with a text head). */
  textLogits?: boolean;
}

export interface ForwardResult {
  positions: Int32Array;
  /** [positions, numCodebooks, codebookVocab] */
  audioLogits: Float32Array;
  /** [positions, vocabSize], or null unless asked for */
  textLogits: Float32Array | null;
  numCodebooks: number;
  codebookVocab: number;
  vocabSize: number;
  seconds: number;
}

/** One TTS generation (original boson-ai semantics): prefill the prompt, then one frame per step. */
export interface GenerateRequest {
  /** The rendered prompt, ending with <|audio_out_bos|> (see lib/text/prompt/render.ts). */
  inputIds: Int32Array;
  audioMask: Uint8Array;
  audioCodes?: Int32Array;
  // Every sampling field is required: the defaults are the request schema's (lib/request/defaults.ts),
  // and the addon applies none of its own.
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** Repetition-aware sampling window, 0..constants.limits.maxRasWindow; 0 = off. */
  rasWindow: number;
  /** Resample a codebook whose code occurs this often in the window. */
  rasMaxRepeats: number;
  /** Seed of the counter-based sampler: the same seed gives the same codes. */
  seed: number;
  /** Columns including the first all-bos one. */
  maxFrames: number;
  /** Frames per onFrames call (default 8). */
  streamEvery?: number;
  /** Lets cancel(requestId) stop this generation; 0 = not cancellable. */
  requestId?: number;
  /**
   * Place among generations waiting for a slot: lower goes first, so a long request's
   * continuation chunks (passing its arrival) keep its place; 0 (default) = at the back.
   */
  arrival?: number;
  /** More chunks of this request follow with the same arrival: a slot is kept for the next one for up to a second. */
  continues?: boolean;
}

export interface GenerateResult {
  /** [numCodebooks][frames], codebook-major, values 0..1023: ready for the codec. */
  codes: Int32Array;
  frames: number;
  numCodebooks: number;
  /** Decode columns produced (delay form, first all-bos column included). */
  columns: number;
  promptPositions: number;
  stopReason: 'audio_end' | 'max_frames' | 'context_full';
  prefillSeconds: number;
  decodeSeconds: number;
  /** The most generations the engine decoded together while this one ran (1 = alone). */
  peakBatch: number;
}

/** The engine's slot batch as its LM thread last saw it (all 0 before a load). */
export interface BatchStatus {
  slots: number;
  /** Slots holding a generation. */
  busy: number;
  /** Generations queued for a free slot. */
  waiting: number;
}

export interface GenerateCallbacks {
  /** Frames [count][numCodebooks] (frame-major) from output frame `first`; every frame arrives once, in order, before the Promise settles. */
  onFrames?: (frames: Int32Array, first: number, count: number) => void;
  onProgress?: (columns: number, maxColumns: number) => void;
}

/** The native Engine: its work runs on two native threads it owns (the LM's and the codec's); every call returns a Promise. */
export interface NativeEngine {
  load(modelDir: string, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo>;
  forward(request: ForwardRequest): Promise<ForwardResult>;
  /** Rejects with E_CANCELLED after cancel(requestId); frames already delivered stay valid. */
  generate(request: GenerateRequest, callbacks?: GenerateCallbacks): Promise<GenerateResult>;
  cancel(requestId: number): void;
  /** Loads the audio codec (transformers higgs_audio_v2_tokenizer format) beside the LM. */
  loadCodec(codecDir: string): Promise<CodecInfo>;
  /** codes [numQuantizers * frames], codebook-major -> frames * samplesPerFrame samples; a window decodes frames [begin, end) only (with context), for streaming. */
  decodeAudio(codes: Int32Array, frames: number, window?: { begin: number; end: number }): Promise<Float32Array>;
  /** Mono samples at the codec rate (24 kHz) -> codes [numQuantizers * frames], codebook-major. */
  encodeAudio(samples: Float32Array): Promise<{ codes: Int32Array; frames: number }>;
  codecInfo(): CodecInfo | null;
  info(): ModelInfo | null;
  /** Synchronous, no job queued: the GPU's numbers now; null on a CPU engine, a CPU-only libtorch, or after dispose(). */
  gpuMemory(): GpuMemory | null;
  /** Synchronous, no job queued: the slot batch now (continuous batching). */
  batchStatus(): BatchStatus;
  /** Starts a new peak for GpuMemory.peakAllocated (no-op on the CPU). */
  resetPeakGpuMemory(): void;
  /** Queued behind running work: gives the CUDA allocator's cached, unused blocks back to the driver (no-op on the CPU). */
  releaseCachedMemory(): Promise<void>;
  dispose(): Promise<void>;
}

/** Bytes. allocated/reserved/peakAllocated are the CUDA caching allocator's; free/total the driver's (other processes included). */
export interface GpuMemory {
  allocated: number;
  reserved: number;
  peakAllocated: number;
  free: number;
  total: number;
}

export interface CodecInfo {
  codecDir: string;
  sampleRate: number;
  samplesPerFrame: number;
  numQuantizers: number;
  codebookSize: number;
  /** Frames of context a windowed decode uses on each side (10 for the Higgs codec). */
  contextFrames: number;
  canEncode: boolean;
  loadSeconds: number;
}

export type AudioFormat = 'wav' | 'flac' | 'mp3' | 'opus' | 'vorbis' | 'ulaw' | 'alaw';

export interface DecodedAudio {
  /** Mono (channels averaged), at the file's own rate. */
  samples: Float32Array;
  sampleRate: number;
  channels: number;
  format: string;
  durationSeconds: number;
}

/** What the addon and this library must agree on (native/binding/convert.cc, write_constants). */
export interface AddonConstants {
  abiVersion: number;
  /** The native core's error codes (lib/common/errors.ts has these and the library's own). */
  errorCodes: string[];
  /** Bounds the core enforces because its buffers depend on them (native/core/buffer_limits.h). */
  limits: { maxRasWindow: number; maxSlots: number };
  /** The speeds the time-stretcher takes (native/core/audio/time_stretch.h; lib/audio/time-stretch.ts SPEED_RANGE matches). */
  speedRange: { minimum: number; maximum: number };
}

/**
 * A mono stream processed piece by piece (AudioStretcher, AudioResampler). Each call runs on the
 * libuv pool; one at a time: a call while another is still pending rejects with E_INPUT.
 */
export interface NativeSampleStream {
  /** The samples ready so far (possibly none). */
  push(samples: Float32Array): Promise<Float32Array>;
  /** The rest; push() or finish() after it rejects with E_INPUT. */
  finish(): Promise<Float32Array>;
}

/**
 * Audio encoded piece by piece (AudioStreamEncoder): the bytes each call gives are final, and all
 * of them in order are one file. One call at a time, as NativeSampleStream.
 */
export interface NativeByteStream {
  /** The bytes ready so far (possibly none: an encoder may hold a frame). */
  push(samples: Float32Array): Promise<Buffer>;
  /** The rest; push() or finish() after it rejects with E_INPUT. */
  finish(): Promise<Buffer>;
}

/**
 * The engine's own log lines: libtorch's warnings (level "warn"), each distinct message once, which
 * would otherwise be printed raw on stderr. Called on the JS thread; the addon never waits for it,
 * never keeps the process alive for it, and drops the line if it throws.
 */
export type EngineLogCallback = (level: string, message: string) => void;

/** What the addon was built with, fixed at compile time (native/binding/convert.cc, write_build_info). */
export interface AddonBuildInfo {
  /** The libtorch headers it was compiled against (TORCH_VERSION), e.g. "2.13.0". */
  torchVersion: string;
  /** The CUDA runtime it was compiled against, e.g. "13.0"; "cpu" for a CPU build. */
  cudaVersion: string;
  /** The fused kernels' GPU code, e.g. "sm_90 compute_90"; "cpu" for a CPU build, "none" for CUDA without them. */
  kernelArchs: string;
}

export interface NativeBinding {
  Engine: new (options?: EngineOptions, onLog?: EngineLogCallback) => NativeEngine;
  /**
   * Pitch kept (Rubber Band, real-time mode); the start delay is hidden and finish() makes the
   * total round(input / speed) samples. sampleRate >= 8000; speed in constants.speedRange
   * (E_INPUT otherwise, thrown); throws without the audio module.
   */
  AudioStretcher: new (sampleRate: number, speed: number) => NativeSampleStream;
  /**
   * soxr HQ, as resampleAudio; finish() makes the total resampleAudio's length for all the input.
   * Rates > 0 (E_INPUT otherwise, thrown); throws without the audio module.
   */
  AudioResampler: new (fromRate: number, toRate: number) => NativeSampleStream;
  /**
   * Streams `format` (an AudioFormat, or "pcm": wav's samples without a header) at a rate the
   * codec carries (E_INPUT otherwise, thrown): native/core/audio/stream_encoder.h says what a
   * streamed header holds. Throws without the audio module.
   */
  AudioStreamEncoder: new (format: AudioFormat | 'pcm', sampleRate: number) => NativeByteStream;
  constants: AddonConstants;
  buildInfo(): AddonBuildInfo;
  /** True when the addon's libtorch has CUDA and sees a GPU (HIGGS_DEVICE=auto picks cuda then). */
  cudaAvailable(): boolean;
  /** This machine's CPU bf16 support and free memory, read now (HIGGS_DTYPE=auto on the CPU rests on them). */
  hostInfo(): HostInfo;
  /**
   * What loading modelDir with these options would need, from config.json and the safetensors
   * headers alone (nothing allocated); load() fails with E_OOM when neededBytes > availableBytes.
   * Throws E_MODEL_FORMAT / E_INPUT as load() would for a bad directory or options.
   */
  planLoad(modelDir: string, options?: EngineOptions): LoadPlan;
  /** False when the addon was built without libsndfile/libsoxr/librubberband: the audio functions then throw. */
  hasAudio: boolean;
  readAudio(bytes: Uint8Array, limits?: { maxBytes?: number; maxSeconds?: number }): Promise<DecodedAudio>;
  writeAudio(samples: Float32Array, sampleRate: number, format: AudioFormat): Promise<{ bytes: Buffer; sampleRate: number }>;
  resampleAudio(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array>;
  /**
   * Mono samples played at `speed` times the pitch-kept tempo (Rubber Band R3, offline: the whole
   * buffer studied first): round(length / speed) samples out; speed 1 returns a copy. E_INPUT for
   * a speed outside constants.speedRange or a sampleRate under 8000.
   */
  stretchAudio(samples: Float32Array, sampleRate: number, speed: number): Promise<Float32Array>;
  audioFormats(): { read: string[]; write: AudioFormat[] };
  /**
   * Hands the heap memory large work freed back to the system (malloc_trim on glibc, on the libuv
   * pool; nothing elsewhere), which glibc would otherwise keep for the process's lifetime.
   */
  releaseMemory(): Promise<void>;
  /**
   * `higgs-audio quantize`: modelDir's LM checkpoint quantized once (int8 per output channel, as a
   * load with weights "int8" quantizes it) into outDir (which must exist): model.int8.safetensors,
   * then int8-manifest.json naming sourceFingerprint (native/core/lm/int8_checkpoint.h). Runs on
   * the libuv pool, one weight at a time; onProgress(done, total) counts weights. E_INPUT for a
   * missing outDir or an already quantized modelDir, E_MODEL_FORMAT for a bad checkpoint.
   */
  quantizeCheckpoint(request: QuantizeRequest, onProgress?: (done: number, total: number) => void): Promise<QuantizeResult>;
}

export interface QuantizeRequest {
  modelDir: string;
  outDir: string;
  /** The source checkpoint's id (lib/service/model-fingerprint.ts), recorded in the manifest and the file. */
  sourceFingerprint: string;
  /** Recorded in the manifest, e.g. "higgs-audio 0.3.0". */
  createdBy?: string;
}

export interface QuantizeResult {
  weightsPath: string;
  manifestPath: string;
  /** Canonical weights written (each projection as its int8 weight and scales). */
  tensors: number;
  /** Size of model.int8.safetensors. */
  bytes: number;
}
