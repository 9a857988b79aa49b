/**
 * Finds and loads the native addon (higgs_audio.node) and types what it exports. If it cannot be
 * loaded, one error lists every path tried, why each failed, and how to build it.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HiggsError } from './errors.js';

export interface EngineOptions {
  /** "cpu" (default) or "cuda" / "cuda:N". */
  device?: string;
  /** "float32" (default), "bfloat16" or "float16". */
  dtype?: string;
  /** KV-cache positions preallocated at load (default 4096). */
  maxContext?: number;
  /** Intra-op CPU threads; 0 = libtorch's default. */
  threads?: number;
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
  /** The rendered prompt, ending with <|audio_out_bos|> (see lib/text/prompt.ts). */
  inputIds: Int32Array;
  audioMask: Uint8Array;
  audioCodes?: Int32Array;
  /** 0 = greedy (default 1). */
  temperature?: number;
  /** 0 = off (default). */
  topK?: number;
  /** 1 = off (default). */
  topP?: number;
  /** Repetition-aware sampling window; 0 = off (default 7). */
  rasWindow?: number;
  /** Resample a codebook whose code occurs this often in the window (default 2). */
  rasMaxRepeats?: number;
  /** Seed of the counter-based sampler (default 0): the same seed gives the same codes. */
  seed?: number;
  /** Columns including the first all-bos one (default 2048). */
  maxFrames?: number;
  /** Frames per onFrames call (default 8). */
  streamEvery?: number;
  /** Lets cancel(requestId) stop this generation; 0 = not cancellable. */
  requestId?: number;
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
}

export interface GenerateCallbacks {
  /** Frames [count][numCodebooks] (frame-major) from output frame `first`; every frame arrives once, in order, before the Promise settles. */
  onFrames?: (frames: Int32Array, first: number, count: number) => void;
  onProgress?: (columns: number, maxColumns: number) => void;
}

/** The native Engine: all work runs on one native thread it owns; every call returns a Promise. */
export interface NativeEngine {
  load(modelDir: string, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo>;
  loadRandom(shape: 'tiny' | 'full', seed: number): Promise<ModelInfo>;
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

export type AudioFormat = 'wav' | 'flac' | 'mp3' | 'opus' | 'vorbis';

export interface DecodedAudio {
  /** Mono (channels averaged), at the file's own rate. */
  samples: Float32Array;
  sampleRate: number;
  channels: number;
  format: string;
  durationSeconds: number;
}

export interface NativeBinding {
  Engine: new (options?: EngineOptions) => NativeEngine;
  abiVersion: number;
  /** True when the addon's libtorch has CUDA and sees a GPU (HIGGS_DEVICE=auto picks cuda then). */
  cudaAvailable(): boolean;
  /** False when the addon was built without libsndfile/libsoxr: the audio functions then reject. */
  hasAudio: boolean;
  readAudio(bytes: Uint8Array, limits?: { maxBytes?: number; maxSeconds?: number }): Promise<DecodedAudio>;
  writeAudio(samples: Float32Array, sampleRate: number, format: AudioFormat): Promise<{ bytes: Buffer; sampleRate: number }>;
  resampleAudio(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array>;
  audioFormats(): { read: string[]; write: AudioFormat[] };
}

const EXPECTED_ABI = 2; // 2: gpuMemory, resetPeakGpuMemory, releaseCachedMemory

/** The package root: the nearest folder above this file whose package.json is higgs-audio. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'higgs-audio') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new HiggsError('E_NATIVE_MISSING', 'cannot find the higgs-audio package root');
    dir = parent;
  }
}

/** Where the addon is looked for, in order. HIGGS_AUDIO_ADDON overrides everything. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.HIGGS_AUDIO_ADDON) return [resolve(env.HIGGS_AUDIO_ADDON)];
  const root = packageRoot();
  return [
    join(root, 'build', 'Release', 'higgs_audio.node'), // npm run build:native
    join(root, 'build', 'cmake', 'Release', 'higgs_audio.node'), // npx node-gyp rebuild (binding.gyp)
    join(root, 'build', 'Debug', 'higgs_audio.node'),
  ];
}

let cached: NativeBinding | undefined;

/** Loads the addon once; throws HiggsError E_NATIVE_MISSING with every reason if it cannot. */
export function loadNative(candidates?: string[]): NativeBinding {
  if (!candidates && cached) return cached;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidates ?? addonCandidates()) {
    if (!existsSync(path)) {
      failures.push(`${path}: not found`);
      continue;
    }
    try {
      const binding = require(path) as NativeBinding;
      if (binding.abiVersion !== EXPECTED_ABI) {
        failures.push(`${path}: built for addon ABI ${binding.abiVersion}, this library needs ${EXPECTED_ABI} (rebuild it)`);
        continue;
      }
      if (!candidates) cached = binding;
      return binding;
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new HiggsError(
    'E_NATIVE_MISSING',
    [
      'The higgs-audio native addon could not be loaded. Tried:',
      ...failures.map((f) => `  - ${f}`),
      'To build it: `npm run bootstrap` (installs libtorch and the other system packages on Debian, then builds),',
      'or, with libtorch already installed, `npm run build:native` (CMake finds libtorch through',
      'CMAKE_PREFIX_PATH / Torch_DIR). Set HIGGS_AUDIO_ADDON to load a .node from another path.',
      'An "undefined symbol" or "cannot open shared object" error above means the addon was built',
      'against another libtorch than the one found at run time (check LD_LIBRARY_PATH).',
    ].join('\n'),
  );
}
