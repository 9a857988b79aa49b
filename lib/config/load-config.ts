/**
 * Environment configuration, parsed and validated in one place (zod). It reads variables and the
 * file system only: an `auto` device and dtype are resolved by the service when it creates the
 * engine (lib/service/engine-device.ts), and a deployment's volume layout is passed in by the
 * mode that knows it (lib/runpod/volume.ts). Unset model and codec paths fall back to the
 * volume, then to `higgs-audio pull`'s cache, then to the tiny random model of a source checkout,
 * then to none (pickDir states the order). Every invalid value is a HiggsError
 * E_INPUT naming the variable, so a worker fails at start with a message an operator can act
 * on, not on its first request.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { HiggsError } from '../common/errors.js';
import { LOG_LEVELS, type LogLevel } from '../common/log-levels.js';
import { packageRoot } from '../common/package-root.js';
import { pullCacheDirs } from '../hub/cache-dir.js';
import { isCompletePull } from '../hub/manifest.js';
import type { EngineOptions } from '../native/addon-types.js';

export const DTYPES = ['float32', 'bfloat16', 'float16'] as const;
export type Dtype = (typeof DTYPES)[number];

/**
 * Where a setting came from: its environment variable, the deployment's volume, the pull cache
 * (`higgs-audio pull`), the bundled tiny fixtures, a built-in default, or nowhere (a path left unset).
 */
export type ConfigSource = 'env' | 'volume' | 'cache' | 'bundled' | 'default' | 'none';

/** Directories a deployment mounts (RunPod's network volume); each is used when it exists. */
export interface VolumeDirs {
  modelDir: string;
  codecDir: string;
  voicesDir: string;
}

export interface HiggsConfig {
  /**
   * The LM checkpoint directory (config.json, safetensors, tokenizer.json); null when none is
   * configured (an installed package has no bundled model: HiggsAudio.load says so).
   */
  modelDir: string | null;
  /** The audio codec directory (transformers higgs_audio_v2_tokenizer format); null as modelDir. */
  codecDir: string | null;
  /** Preset voices and profile.yaml; null when there is none. */
  voicesDir: string | null;
  /** HIGGS_DEVICE: "auto" (a GPU when the addon sees one, else the CPU), "cpu", "cuda" or "cuda:N". */
  device: string;
  /** HIGGS_DTYPE; "auto" is bfloat16 on a GPU; on the CPU bfloat16 for a bf16 checkpoint when the CPU has native bf16 (AVX512-BF16/AMX) or float32 would not fit, else float32 (lib/service/engine-device.ts). */
  dtype: Dtype | 'auto';
  /**
   * Requests generating at once. Without HIGGS_MAX_CONCURRENCY this is a fallback only: once the
   * model is loaded HiggsAudio takes the engine's slots.
   */
  maxConcurrency: number;
  /**
   * HIGGS_DECODE: the engine's decode path: "auto" (CUDA graphs on a GPU, eager on the CPU),
   * "eager" (one forward per step, sampling on the host), "static" (the step's state on the
   * device) or "graph" (static steps as CUDA graphs).
   */
  decode: DecodeMode;
  /**
   * Generations the engine decodes together (continuous batching; each slot holds its own KV
   * cache of maxContext positions); 0 = the engine's default: with eager decode 4 on the CPU and
   * what free GPU memory holds on a GPU, with static or graph decode 1 (more batch the rows on
   * the device).
   * When the engine has more than one slot, the admission limit follows it.
   */
  slots: number;
  /**
   * HIGGS_BATCHING: how the engine computes a step of several slots: "exact" (each request as
   * at batch 1, so its audio never depends on what runs beside it) or "fast" (one batched
   * forward: each weight read once per step for all; a request may differ from its solo run).
   */
  batching: Batching;
  /**
   * HIGGS_WEIGHTS: how the engine holds the LM's projections: "dense" (in the dtype) or "int8"
   * (int8 weights with one scale per output channel, bf16 activations: about half of bf16's
   * memory and bytes read per step; not bit-equal to dense, quality on the released weights not
   * measured here).
   */
  weights: WeightFormat;
  /** Requests waiting for a slot; beyond that a request fails with E_BUSY. */
  maxQueue: number;
  logLevel: LogLevel;
  /** KV-cache positions preallocated at load. */
  maxContext: number;
  /** Cached GPU memory grown by more than this (MiB) is given back once the engine is idle. */
  gpuReleaseThresholdMb: number;
  /** Milliseconds of audio per streamed part after the first (which leaves with the first decoded window). */
  streamPartMs: number;
  /** The fused CUDA decode kernels where the build and the GPU have them (HIGGS_FUSED_KERNELS=0: ATen ops, for comparisons). */
  fusedKernels: boolean;
  /** The candidate successors of the norm and GEMV kernels (HIGGS_KERNELS_NEXT=1; not yet measured faster). */
  nextKernels: boolean;
  /** HIGGS_RESULT_CACHE_DIR: keep finished results on disk by their result hash; null (the default): no cache. */
  resultCacheDir: string | null;
  /** HIGGS_RESULT_CACHE_MB: the most the result cache holds; the least recently used go first. */
  resultCacheMb: number;
  sources: Record<ConfigKey, ConfigSource>;
}

export type ConfigKey = Exclude<keyof HiggsConfig, 'sources'>;

/** The environment variable behind each setting, for messages and the CLI's help. */
export const CONFIG_VARIABLES: Readonly<Record<ConfigKey, string>> = {
  modelDir: 'HIGGS_MODEL_DIR',
  codecDir: 'HIGGS_CODEC_DIR',
  voicesDir: 'HIGGS_VOICES_DIR',
  device: 'HIGGS_DEVICE',
  dtype: 'HIGGS_DTYPE',
  maxConcurrency: 'HIGGS_MAX_CONCURRENCY',
  decode: 'HIGGS_DECODE',
  slots: 'HIGGS_SLOTS',
  batching: 'HIGGS_BATCHING',
  weights: 'HIGGS_WEIGHTS',
  maxQueue: 'HIGGS_MAX_QUEUE',
  logLevel: 'HIGGS_LOG_LEVEL',
  maxContext: 'HIGGS_MAX_CONTEXT',
  gpuReleaseThresholdMb: 'HIGGS_GPU_RELEASE_THRESHOLD_MB',
  streamPartMs: 'HIGGS_STREAM_PART_MS',
  fusedKernels: 'HIGGS_FUSED_KERNELS',
  nextKernels: 'HIGGS_KERNELS_NEXT',
  resultCacheDir: 'HIGGS_RESULT_CACHE_DIR',
  resultCacheMb: 'HIGGS_RESULT_CACHE_MB',
};

/** HIGGS_RESULT_CACHE_MB: 1 GiB by default (a minute of 24 kHz WAV is 2.9 MB). */
export const RESULT_CACHE_MB = { minimum: 1, maximum: 1_048_576, default: 1024 } as const;

/** HIGGS_SLOTS' upper bound: the native core's own (constants.limits.maxSlots; a test holds them equal). */
export const MAX_SLOTS = 256;

// The engine's choices (EngineOptions), listed for validation: `satisfies` keeps them its own.
export const BATCHING_MODES = ['exact', 'fast'] as const satisfies readonly NonNullable<EngineOptions['batching']>[];
export type Batching = (typeof BATCHING_MODES)[number];
/** HIGGS_WEIGHTS' values; the first is the default. */
export const WEIGHT_FORMATS = ['dense', 'int8'] as const satisfies readonly NonNullable<EngineOptions['weights']>[];
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];
export const DECODE_MODES = ['auto', 'eager', 'static', 'graph'] as const satisfies readonly NonNullable<EngineOptions['decode']>[];
export type DecodeMode = (typeof DECODE_MODES)[number];

/** HIGGS_MAX_QUEUE: requests (or serve's jobs) that may wait for a slot. */
export const DEFAULT_MAX_QUEUE = 16;

/** HIGGS_STREAM_PART_MS: at most 10 s, whose 24 kHz PCM16 is 640 KB as base64 (RunPod parts: 1 MB). */
export const STREAM_PART_MS = { minimum: 20, maximum: 10_000, default: 500 } as const;

export interface LoadConfigOptions {
  /** The deployment's volume layout, used for paths the environment leaves unset. */
  volume?: VolumeDirs;
  /**
   * Where `higgs-audio pull` put the model and codec; default: the pull cache the environment
   * names (lib/hub/cache-dir.ts: HIGGS_CACHE_DIR, XDG_CACHE_HOME, HOME); null: none.
   */
  cache?: { modelDir: string; codecDir: string } | null;
}

// Docker and RunPod templates often set a variable to "" to mean "not set".
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.string().trim().pipe(z.enum(values, { error: (issue) => `must be one of ${values.join(', ')} (got ${JSON.stringify(issue.input)})` }));

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: (issue) => `must be a whole number from ${min} to ${max} (got ${JSON.stringify(issue.input)})` })
    .transform(Number)
    .pipe(z.number().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));

const device = z
  .string()
  .trim()
  .regex(/^(auto|cpu|cuda(:\d+)?)$/, { error: (issue) => `must be one of auto, cuda, cuda:N, cpu (got ${JSON.stringify(issue.input)})` });

const path = z.string();

const flag = z
  .string()
  .trim()
  .pipe(z.enum(['0', '1'], { error: (issue) => `must be 0 or 1 (got ${JSON.stringify(issue.input)})` }))
  .transform((v) => v === '1');

const EnvSchema = z.object({
  HIGGS_MODEL_DIR: optional(path),
  HIGGS_CODEC_DIR: optional(path),
  HIGGS_VOICES_DIR: optional(path),
  HIGGS_DEVICE: optional(device),
  HIGGS_DTYPE: optional(oneOf(DTYPES)),
  HIGGS_MAX_CONCURRENCY: optional(integer(1, 256)),
  HIGGS_DECODE: optional(oneOf(DECODE_MODES)),
  HIGGS_SLOTS: optional(integer(0, MAX_SLOTS)),
  HIGGS_BATCHING: optional(oneOf(BATCHING_MODES)),
  HIGGS_WEIGHTS: optional(oneOf(WEIGHT_FORMATS)),
  HIGGS_MAX_QUEUE: optional(integer(0, 100_000)),
  HIGGS_LOG_LEVEL: optional(oneOf(LOG_LEVELS)),
  HIGGS_MAX_CONTEXT: optional(integer(256, 131_072)),
  HIGGS_GPU_RELEASE_THRESHOLD_MB: optional(integer(0, 1_048_576)),
  HIGGS_STREAM_PART_MS: optional(integer(STREAM_PART_MS.minimum, STREAM_PART_MS.maximum)),
  HIGGS_FUSED_KERNELS: optional(flag),
  HIGGS_KERNELS_NEXT: optional(flag),
  HIGGS_RESULT_CACHE_DIR: optional(path),
  HIGGS_RESULT_CACHE_MB: optional(integer(RESULT_CACHE_MB.minimum, RESULT_CACHE_MB.maximum)),
});

/**
 * Reads the configuration from `env`. Relative paths resolve against the working directory.
 * @throws HiggsError E_INPUT naming every invalid variable, one per line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): HiggsConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
    throw new HiggsError('E_INPUT', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const volume = options.volume;
  const cache = options.cache === undefined ? pullCacheDirs(env) : options.cache;
  const model = pickDir(e.HIGGS_MODEL_DIR, 'HIGGS_MODEL_DIR', volume?.modelDir, cache?.modelDir, bundledModelDir);
  const codec = pickDir(e.HIGGS_CODEC_DIR, 'HIGGS_CODEC_DIR', volume?.codecDir, cache?.codecDir, bundledCodecDir);
  const voices = pickVoices(e.HIGGS_VOICES_DIR, volume?.voicesDir);

  const device = e.HIGGS_DEVICE ?? 'auto';
  const from = (value: unknown): ConfigSource => (value === undefined ? 'default' : 'env');
  return {
    modelDir: model.dir,
    codecDir: codec.dir,
    voicesDir: voices.dir,
    device,
    dtype: e.HIGGS_DTYPE ?? 'auto',
    // Stands only until the load: then the limit is the engine's slots.
    maxConcurrency: e.HIGGS_MAX_CONCURRENCY ?? 1,
    decode: e.HIGGS_DECODE ?? 'auto',
    slots: e.HIGGS_SLOTS ?? 0,
    batching: e.HIGGS_BATCHING ?? 'exact',
    weights: e.HIGGS_WEIGHTS ?? WEIGHT_FORMATS[0],
    maxQueue: e.HIGGS_MAX_QUEUE ?? DEFAULT_MAX_QUEUE,
    logLevel: e.HIGGS_LOG_LEVEL ?? 'info',
    maxContext: e.HIGGS_MAX_CONTEXT ?? 8192,
    // 1 GiB, about a long chunk's codec decode: smaller growth stays cached for the next request.
    gpuReleaseThresholdMb: e.HIGGS_GPU_RELEASE_THRESHOLD_MB ?? 1024,
    streamPartMs: e.HIGGS_STREAM_PART_MS ?? STREAM_PART_MS.default,
    fusedKernels: e.HIGGS_FUSED_KERNELS ?? true,
    nextKernels: e.HIGGS_KERNELS_NEXT ?? false,
    resultCacheDir: e.HIGGS_RESULT_CACHE_DIR === undefined ? null : resolve(e.HIGGS_RESULT_CACHE_DIR),
    resultCacheMb: e.HIGGS_RESULT_CACHE_MB ?? RESULT_CACHE_MB.default,
    sources: {
      modelDir: model.source,
      codecDir: codec.source,
      voicesDir: voices.source,
      device: from(e.HIGGS_DEVICE),
      dtype: from(e.HIGGS_DTYPE),
      maxConcurrency: from(e.HIGGS_MAX_CONCURRENCY),
      decode: from(e.HIGGS_DECODE),
      slots: from(e.HIGGS_SLOTS),
      batching: from(e.HIGGS_BATCHING),
      weights: from(e.HIGGS_WEIGHTS),
      maxQueue: from(e.HIGGS_MAX_QUEUE),
      logLevel: from(e.HIGGS_LOG_LEVEL),
      maxContext: from(e.HIGGS_MAX_CONTEXT),
      gpuReleaseThresholdMb: from(e.HIGGS_GPU_RELEASE_THRESHOLD_MB),
      streamPartMs: from(e.HIGGS_STREAM_PART_MS),
      fusedKernels: from(e.HIGGS_FUSED_KERNELS),
      nextKernels: from(e.HIGGS_KERNELS_NEXT),
      resultCacheDir: e.HIGGS_RESULT_CACHE_DIR === undefined ? 'none' : 'env',
      resultCacheMb: from(e.HIGGS_RESULT_CACHE_MB),
    },
  };
}

interface PickedDir {
  dir: string | null;
  source: ConfigSource;
}

/** The tiny random checkpoints of a source checkout (`npm run fixtures`; the npm package has none). */
export const bundledModelDir = (): string => join(packageRoot(), 'test', 'fixtures', 'tiny', 'hf');
export const bundledCodecDir = (): string => join(packageRoot(), 'test', 'fixtures', 'goldens', 'codec');

/**
 * THE lookup order of the model and codec directories (docs/models.md#lookup-order):
 * 1. the variable (HIGGS_MODEL_DIR / HIGGS_CODEC_DIR), which must name a directory;
 * 2. the deployment's volume, in the modes that pass one (CLI, serve, worker: lib/runpod/volume.ts),
 *    when its folder holds config.json;
 * 3. the pull cache (lib/hub/cache-dir.ts), when `higgs-audio pull` finished there: config.json and
 *    a manifest whose files are all present (lib/hub/manifest.ts isCompletePull);
 * 4. the bundled tiny random model of a source checkout; else none.
 */
function pickDir(
  fromEnv: string | undefined,
  variable: string,
  volumeDir: string | undefined,
  cacheDir: string | undefined,
  bundled: () => string,
): PickedDir {
  if (fromEnv !== undefined) return { dir: existingDir(fromEnv, variable), source: 'env' };
  if (volumeDir !== undefined && existsSync(join(volumeDir, 'config.json'))) return { dir: volumeDir, source: 'volume' };
  if (cacheDir !== undefined && existsSync(join(cacheDir, 'config.json')) && isCompletePull(cacheDir)) return { dir: cacheDir, source: 'cache' };
  if (existsSync(join(bundled(), 'config.json'))) return { dir: bundled(), source: 'bundled' };
  return { dir: null, source: 'none' };
}

/** The voice directory may be named before it exists (an empty library), but not be a file. */
function pickVoices(fromEnv: string | undefined, volumeDir: string | undefined): PickedDir {
  if (fromEnv !== undefined) {
    const dir = resolve(fromEnv);
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw invalid('HIGGS_VOICES_DIR', `${dir} is not a directory`);
    return { dir, source: 'env' };
  }
  if (volumeDir !== undefined && isDirectory(volumeDir)) return { dir: volumeDir, source: 'volume' };
  return { dir: null, source: 'none' };
}

function existingDir(value: string, variable: string): string {
  const dir = resolve(value);
  if (!existsSync(dir)) throw invalid(variable, `${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw invalid(variable, `${dir} is not a directory`);
  return dir;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function invalid(variable: string, why: string): HiggsError {
  return new HiggsError('E_INPUT', `invalid configuration:\n  ${variable}: ${why}`);
}
