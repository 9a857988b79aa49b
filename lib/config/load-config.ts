/**
 * Environment configuration, parsed and validated in one place (zod). Paths follow the RunPod
 * network-volume layout when it is mounted and fall back to the bundled tiny random model.
 * Every invalid value is a HiggsError E_INPUT naming the variable, so a worker fails at start
 * with a message an operator can act on, not on its first request.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { HiggsError } from '../common/errors.js';
import { loadNative, packageRoot } from '../native/loader.js';

/** The RunPod network-volume layout of the deployment guide. */
export const RUNPOD_ROOT = '/runpod-volume/higgs_audio';
export const RUNPOD_MODEL_DIR = `${RUNPOD_ROOT}/bosonai/higgs-audio-v2-generation-3B-base`;
export const RUNPOD_CODEC_DIR = `${RUNPOD_ROOT}/bosonai/higgs-audio-v2-tokenizer`;
export const RUNPOD_VOICES_DIR = `${RUNPOD_ROOT}/voice_prompts`;

export const DEVICES = ['auto', 'cuda', 'cpu'] as const;
export const DTYPES = ['float32', 'bfloat16', 'float16'] as const;
// The same names as lib/common/log.ts (pino levels); repeated so that config does not load pino.
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export type Dtype = (typeof DTYPES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Where a setting came from: its environment variable, the mounted RunPod volume, the bundled
 * tiny fixtures, a built-in default, or nowhere (an optional path left unset).
 */
export type ConfigSource = 'env' | 'runpod' | 'bundled' | 'default' | 'none';

export interface HiggsConfig {
  /** The LM checkpoint directory (config.json, safetensors, tokenizer.json). */
  modelDir: string;
  /** The audio codec directory (transformers higgs_audio_v2_tokenizer format). */
  codecDir: string;
  /** Preset voices and profile.yaml; null when there is none. */
  voicesDir: string | null;
  /** The device the engine runs on: "cpu", "cuda" or "cuda:N" (auto already resolved). */
  device: string;
  /** What HIGGS_DEVICE asked for (default auto). */
  requestedDevice: string;
  dtype: Dtype;
  /**
   * Requests generating at once. On CUDA without HIGGS_MAX_CONCURRENCY this is a fallback only:
   * HiggsAudio derives the limit from free GPU memory once the model is loaded (lib/service/gpu-memory.ts).
   */
  maxConcurrency: number;
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
  sources: Record<ConfigKey, ConfigSource>;
}

export type ConfigKey = Exclude<keyof HiggsConfig, 'sources' | 'requestedDevice'>;

/** The environment variable behind each setting, for messages and the CLI's help. */
export const CONFIG_VARIABLES: Readonly<Record<ConfigKey, string>> = {
  modelDir: 'HIGGS_MODEL_DIR',
  codecDir: 'HIGGS_CODEC_DIR',
  voicesDir: 'HIGGS_VOICES_DIR',
  device: 'HIGGS_DEVICE',
  dtype: 'HIGGS_DTYPE',
  maxConcurrency: 'HIGGS_MAX_CONCURRENCY',
  maxQueue: 'HIGGS_MAX_QUEUE',
  logLevel: 'HIGGS_LOG_LEVEL',
  maxContext: 'HIGGS_MAX_CONTEXT',
  gpuReleaseThresholdMb: 'HIGGS_GPU_RELEASE_THRESHOLD_MB',
  streamPartMs: 'HIGGS_STREAM_PART_MS',
  fusedKernels: 'HIGGS_FUSED_KERNELS',
  nextKernels: 'HIGGS_KERNELS_NEXT',
};

/** HIGGS_MAX_QUEUE: requests (or serve's jobs) that may wait for a slot. */
export const DEFAULT_MAX_QUEUE = 16;

/** HIGGS_STREAM_PART_MS: at most 10 s, whose 24 kHz PCM16 is 640 KB as base64 (RunPod parts: 1 MB). */
export const STREAM_PART_MS = { minimum: 20, maximum: 10_000, default: 500 } as const;

export interface LoadConfigOptions {
  /** Where the RunPod volume is looked for (tests point it elsewhere). */
  runpodRoot?: string;
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
  HIGGS_MAX_QUEUE: optional(integer(0, 100_000)),
  HIGGS_LOG_LEVEL: optional(oneOf(LOG_LEVELS)),
  HIGGS_MAX_CONTEXT: optional(integer(256, 131_072)),
  HIGGS_GPU_RELEASE_THRESHOLD_MB: optional(integer(0, 1_048_576)),
  HIGGS_STREAM_PART_MS: optional(integer(STREAM_PART_MS.minimum, STREAM_PART_MS.maximum)),
  HIGGS_FUSED_KERNELS: optional(flag),
  HIGGS_KERNELS_NEXT: optional(flag),
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
  const runpod = options.runpodRoot ?? RUNPOD_ROOT;
  const model = pickDir(e.HIGGS_MODEL_DIR, 'HIGGS_MODEL_DIR', join(runpod, 'bosonai', 'higgs-audio-v2-generation-3B-base'), bundledModelDir);
  const codec = pickDir(e.HIGGS_CODEC_DIR, 'HIGGS_CODEC_DIR', join(runpod, 'bosonai', 'higgs-audio-v2-tokenizer'), bundledCodecDir);
  const voices = pickVoices(e.HIGGS_VOICES_DIR, join(runpod, 'voice_prompts'));

  const requestedDevice = e.HIGGS_DEVICE ?? 'auto';
  // auto: the GPU when the addon's libtorch has CUDA and sees one, else the CPU.
  const resolvedDevice = requestedDevice === 'auto' ? (cudaAvailable() ? 'cuda' : 'cpu') : requestedDevice;
  const onGpu = resolvedDevice.startsWith('cuda');
  const from = (value: unknown): ConfigSource => (value === undefined ? 'default' : 'env');
  return {
    modelDir: model.dir,
    codecDir: codec.dir,
    voicesDir: voices.dir,
    device: resolvedDevice,
    requestedDevice,
    // bf16 halves memory and is what the GPU kernels are tuned for; the CPU path is exact in fp32.
    dtype: e.HIGGS_DTYPE ?? (onGpu ? 'bfloat16' : 'float32'),
    // One native thread does all the CPU work: a second request would only wait inside it. On
    // CUDA, 4 stands until the load derives the limit from free memory (lib/service/gpu-memory.ts).
    maxConcurrency: e.HIGGS_MAX_CONCURRENCY ?? (onGpu ? 4 : 1),
    maxQueue: e.HIGGS_MAX_QUEUE ?? DEFAULT_MAX_QUEUE,
    logLevel: e.HIGGS_LOG_LEVEL ?? 'info',
    maxContext: e.HIGGS_MAX_CONTEXT ?? 8192,
    // 1 GiB, about a long chunk's codec decode: smaller growth stays cached for the next request.
    gpuReleaseThresholdMb: e.HIGGS_GPU_RELEASE_THRESHOLD_MB ?? 1024,
    streamPartMs: e.HIGGS_STREAM_PART_MS ?? STREAM_PART_MS.default,
    fusedKernels: e.HIGGS_FUSED_KERNELS ?? true,
    nextKernels: e.HIGGS_KERNELS_NEXT ?? false,
    sources: {
      modelDir: model.source,
      codecDir: codec.source,
      voicesDir: voices.source,
      device: from(e.HIGGS_DEVICE),
      dtype: from(e.HIGGS_DTYPE),
      maxConcurrency: from(e.HIGGS_MAX_CONCURRENCY),
      maxQueue: from(e.HIGGS_MAX_QUEUE),
      logLevel: from(e.HIGGS_LOG_LEVEL),
      maxContext: from(e.HIGGS_MAX_CONTEXT),
      gpuReleaseThresholdMb: from(e.HIGGS_GPU_RELEASE_THRESHOLD_MB),
      streamPartMs: from(e.HIGGS_STREAM_PART_MS),
      fusedKernels: from(e.HIGGS_FUSED_KERNELS),
      nextKernels: from(e.HIGGS_KERNELS_NEXT),
    },
  };
}

interface PickedDir {
  dir: string;
  source: ConfigSource;
}

const bundledModelDir = (): string => join(packageRoot(), 'test', 'fixtures', 'tiny', 'hf');
const bundledCodecDir = (): string => join(packageRoot(), 'test', 'fixtures', 'goldens', 'codec');

/** A directory the engine needs: the variable (which must name a directory), the volume, the fixture. */
function pickDir(fromEnv: string | undefined, variable: string, runpodDir: string, bundled: () => string): PickedDir {
  if (fromEnv !== undefined) return { dir: existingDir(fromEnv, variable), source: 'env' };
  if (existsSync(join(runpodDir, 'config.json'))) return { dir: runpodDir, source: 'runpod' };
  return { dir: bundled(), source: 'bundled' };
}

/** The voice directory may be named before it exists (an empty library), but not be a file. */
function pickVoices(fromEnv: string | undefined, runpodDir: string): { dir: string | null; source: ConfigSource } {
  if (fromEnv !== undefined) {
    const dir = resolve(fromEnv);
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw invalid('HIGGS_VOICES_DIR', `${dir} is not a directory`);
    return { dir, source: 'env' };
  }
  if (isDirectory(runpodDir)) return { dir: runpodDir, source: 'runpod' };
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

// ---- Kept for the demo and the public API: one path each, with a human-readable source. ----

export interface ResolvedPath {
  dir: string;
  source: string;
}

function legacyPick(env: NodeJS.ProcessEnv, variable: string, runpod: string, bundled: () => string, bundledName: string): ResolvedPath {
  const fromEnv = env[variable];
  if (fromEnv) return { dir: fromEnv, source: variable };
  if (existsSync(join(runpod, 'config.json'))) return { dir: runpod, source: 'RunPod volume' };
  return { dir: bundled(), source: bundledName };
}

/**
 * The LM to serve: HIGGS_MODEL_DIR if set, else the RunPod volume path if it exists, else the
 * bundled tiny random model (test/fixtures/tiny/hf, made by `npm run fixtures`): noise only.
 * Unlike loadConfig, it does not check that the directory exists.
 */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): ResolvedPath {
  return legacyPick(env, 'HIGGS_MODEL_DIR', RUNPOD_MODEL_DIR, bundledModelDir, 'bundled tiny random model');
}

/**
 * The audio codec: HIGGS_CODEC_DIR, else the RunPod volume path, else the tiny random codec of
 * the transformers goldens (test/fixtures/goldens/codec): noise only.
 */
export function defaultCodecDir(env: NodeJS.ProcessEnv = process.env): ResolvedPath {
  return legacyPick(env, 'HIGGS_CODEC_DIR', RUNPOD_CODEC_DIR, bundledCodecDir, 'bundled tiny random codec');
}

/** Asks the addon; a missing addon means no CUDA (loading it fails later with its own clear error). */
function cudaAvailable(): boolean {
  try {
    return loadNative().cudaAvailable();
  } catch {
    return false;
  }
}
