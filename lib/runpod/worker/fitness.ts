/**
 * Fitness checks (docs/runpod-protocol.md#fitness-checks): before the worker loads the model and
 * takes its first job, it checks that it can serve at all, as RunPod's own workers do. Each check
 * is a small function with a stable name (FITNESS_CHECKS, listed in the README); they run in
 * that order and the first failure ends the run, so the worker logs ONE line naming it and exits
 * non-zero without asking the platform for a job. Checks that do not apply (the GPU's on the CPU)
 * pass with a note saying why they were skipped.
 */
import { accessSync, closeSync, constants as fs, lstatSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Dtype, HiggsConfig } from '../../config/load-config.js';
import type { NativeBinding } from '../../native/addon-types.js';
import { resolveEngineDevice } from '../../service/engine-device.js';
import { readS3Settings } from '../../s3/config.js';
import { readFetchPolicy } from '../../openai/fetch-reference.js';
import { parseIndex, WEIGHTS_INDEX } from '../../hub/select-files.js';
import { readPlatformEnv } from '../env.js';
import { cudaVersion, pickGpu, weightsBytes, type GpuProbe } from './fitness-gpu.js';

/** The checks, in the order they run; the names are stable (logs, README, alerts). */
export const FITNESS_CHECKS = [
  'model_dir',
  'codec_dir',
  'voices_dir',
  'config',
  'addon',
  'device',
  'cuda_driver',
  'gpu_memory',
  's3_output',
  'result_cache',
  'ref_audio_fetch',
  'platform_env',
] as const;
export type FitnessCheckName = (typeof FITNESS_CHECKS)[number];

/** What an addon's buildInfo() may say about CUDA (read only when the addon has one). */
interface BuildInfo {
  cudaRuntimeVersion?: unknown;
  cudaVersion?: unknown;
  cudaDriverVersion?: unknown;
}
type FitnessBinding = Pick<NativeBinding, 'cudaAvailable'> & Partial<Pick<NativeBinding, 'planLoad'>> & { buildInfo?: () => BuildInfo };

export interface FitnessInputs {
  env: NodeJS.ProcessEnv;
  /** The mode's configuration (loadConfig with its volume); may throw. */
  loadConfig: () => HiggsConfig;
  /** The native addon; may throw (not built, wrong ABI). */
  loadBinding: () => FitnessBinding;
  /** nvidia-smi's view of the driver and free memory; null: not available. */
  probeGpu: () => GpuProbe | null;
  /** The platform loop (RUNPOD_WEBHOOK_GET_JOB): its own variables are checked too. */
  platform: boolean;
}

export type FitnessReport =
  | { ok: true; config: HiggsConfig; passed: FitnessCheckName[]; notes: Partial<Record<FitnessCheckName, string>> }
  | { ok: false; check: FitnessCheckName; message: string; passed: FitnessCheckName[] };

class CheckFailed extends Error {}
function fail(message: string): never {
  throw new CheckFailed(message);
}

/** Runs the checks in order; stops at the first failure. */
export function runFitnessChecks(inputs: FitnessInputs): FitnessReport {
  const state = new FitnessState(inputs);
  const passed: FitnessCheckName[] = [];
  const notes: Partial<Record<FitnessCheckName, string>> = {};
  for (const name of FITNESS_CHECKS) {
    try {
      const note = CHECKS[name](state);
      passed.push(name);
      if (note) notes[name] = note;
    } catch (error) {
      return { ok: false, check: name, message: error instanceof Error ? error.message : String(error), passed };
    }
  }
  return { ok: true, config: state.config(), passed, notes };
}

/** What the checks share, each part computed once. */
class FitnessState {
  private loaded: { config: HiggsConfig } | { error: unknown } | undefined;
  private binding: FitnessBinding | undefined;
  private gpu: GpuProbe | null | undefined;

  constructor(readonly inputs: FitnessInputs) {}

  get env(): NodeJS.ProcessEnv {
    return this.inputs.env;
  }

  /** The configuration, or its error (loadConfig throws for a missing HIGGS_*_DIR). */
  attempt(): { config: HiggsConfig } | { error: unknown } {
    if (this.loaded) return this.loaded;
    try {
      this.loaded = { config: this.inputs.loadConfig() };
    } catch (error) {
      this.loaded = { error };
    }
    return this.loaded;
  }

  config(): HiggsConfig {
    const loaded = this.attempt();
    if ('error' in loaded) throw loaded.error;
    return loaded.config;
  }

  /**
   * The directory a check looks at: the variable's when it is set (checked before the rest of the
   * configuration, so a bad path fails its own check), else the configuration's choice (volume,
   * pull cache, bundled); undefined when the configuration failed: its own check reports that.
   */
  dir(variable: string, key: 'modelDir' | 'codecDir' | 'voicesDir'): string | null | undefined {
    const set = this.env[variable];
    if (set !== undefined && set.trim() !== '') return resolve(set);
    const loaded = this.attempt();
    return 'config' in loaded ? loaded.config[key] : undefined;
  }

  addon(): FitnessBinding {
    return (this.binding ??= this.inputs.loadBinding());
  }

  /** The engine's device and dtype as the service resolves them. */
  device(): { device: string; dtype: string } {
    return resolveEngineDevice(this.config(), this.addon());
  }

  onCuda(): boolean {
    return this.device().device.startsWith('cuda');
  }

  probe(): GpuProbe | null {
    if (this.gpu === undefined) this.gpu = this.inputs.probeGpu();
    return this.gpu;
  }
}

type Check = (state: FitnessState) => string | void;

/** model_dir: config.json (a JSON object), tokenizer.json and the weights (the index and every shard it names, or *.safetensors), readable. */
export const checkModelDir: Check = (state) => {
  const dir = state.dir('HIGGS_MODEL_DIR', 'modelDir');
  if (dir === undefined) return 'deferred to config';
  if (dir === null) fail('no model directory: set HIGGS_MODEL_DIR, or put the model on the network volume (higgs-audio pull --to /workspace/higgs_audio)');
  readableDir(dir!, 'HIGGS_MODEL_DIR');
  readJson(readableFile(dir!, 'config.json'));
  readableFile(dir!, 'tokenizer.json');
  const files = readdirSync(dir!);
  if (files.includes(WEIGHTS_INDEX)) {
    const index = readableFile(dir!, WEIGHTS_INDEX);
    let shards: string[] = [];
    try {
      shards = parseIndex(dir!, readText(index));
    } catch (error) {
      fail((error as Error).message);
    }
    for (const shard of shards) readableFile(dir!, shard);
    return `${dir} (${shards.length} shards)`;
  }
  const weights = files.filter((name) => name.endsWith('.safetensors'));
  if (weights.length === 0) fail(`${dir}: no weights (${WEIGHTS_INDEX} or *.safetensors)`);
  for (const file of weights) readableFile(dir!, file);
  return dir!;
};

/** codec_dir: config.json (the tokenizer's, not the LM's) and model.safetensors, readable. */
export const checkCodecDir: Check = (state) => {
  const dir = state.dir('HIGGS_CODEC_DIR', 'codecDir');
  if (dir === undefined) return 'deferred to config';
  if (dir === null) fail('no codec directory: set HIGGS_CODEC_DIR, or put the codec on the network volume (higgs-audio pull --to /workspace/higgs_audio)');
  readableDir(dir!, 'HIGGS_CODEC_DIR');
  const config = readJson(readableFile(dir!, 'config.json'));
  if (config.model_type === 'higgs_audio' || config.model_type === 'higgs_audio_v2') {
    fail(`HIGGS_CODEC_DIR ${dir} holds the generation model (model_type ${String(config.model_type)}), not the audio tokenizer (bosonai/higgs-audio-v2-tokenizer)`);
  }
  readableFile(dir!, 'model.safetensors');
  return dir!;
};

/** voices_dir: when configured and present, a directory whose entries can be listed (a named but absent one is an empty library). */
export const checkVoicesDir: Check = (state) => {
  const dir = state.dir('HIGGS_VOICES_DIR', 'voicesDir');
  if (dir === undefined) return 'deferred to config';
  if (dir === null) return 'not configured';
  try {
    lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `${dir} does not exist yet (an empty library)`;
    fail(`HIGGS_VOICES_DIR ${dir}: ${(error as Error).message}`);
  }
  readableDir(dir, 'HIGGS_VOICES_DIR');
  return dir;
};

/** config: every HIGGS_* variable valid (lib/config/load-config.ts). */
export const checkConfig: Check = (state) => {
  state.config();
};

/** addon: the native addon loads (built, right ABI). */
export const checkAddon: Check = (state) => {
  state.addon();
};

/** device: HIGGS_DEVICE=cuda[:N] needs an addon with CUDA that sees a GPU (auto falls back to the CPU). */
export const checkDevice: Check = (state) => {
  const { device, dtype } = state.device();
  const asked = state.config().device;
  if (device.startsWith('cuda') && !state.addon().cudaAvailable()) {
    fail(`HIGGS_DEVICE=${asked}: the native addon was built without CUDA or sees no GPU (set HIGGS_DEVICE=auto or cpu, or run the CUDA image on a GPU worker)`);
  }
  if (device.startsWith('cuda:') && state.probe() && !pickGpu(state.probe()!, device, state.env.CUDA_VISIBLE_DEVICES)) {
    fail(`HIGGS_DEVICE=${asked}: no such GPU (nvidia-smi lists ${state.probe()!.gpus.length}; CUDA_VISIBLE_DEVICES=${state.env.CUDA_VISIBLE_DEVICES ?? 'unset'})`);
  }
  return `${device} ${dtype}${asked === 'auto' ? ' (auto)' : ''}`;
};

/** cuda_driver: the driver supports the CUDA the addon was built with (needs the addon's buildInfo() for the build's version). */
export const checkCudaDriver: Check = (state) => {
  if (!state.onCuda()) return 'skipped: not on a GPU';
  const info = typeof state.addon().buildInfo === 'function' ? state.addon().buildInfo!() : undefined;
  const built = cudaVersion(info?.cudaRuntimeVersion ?? info?.cudaVersion);
  const driver = cudaVersion(info?.cudaDriverVersion) ?? state.probe()?.driverCuda ?? null;
  if (driver === null) return 'skipped: the driver CUDA version is unknown (no nvidia-smi, no buildInfo())';
  if (built === null) return `driver supports CUDA ${driver.join('.')}; skipped: this addon does not report its build's CUDA version`;
  if (driver[0] < built[0] || (driver[0] === built[0] && driver[1] < built[1])) {
    fail(`the GPU driver supports CUDA ${driver.join('.')} but the addon was built with CUDA ${built.join('.')}: use a worker with a newer driver (RunPod: the endpoint's allowed CUDA versions)`);
  }
  return `driver CUDA ${driver.join('.')} >= build CUDA ${built.join('.')}`;
};

/** gpu_memory: the GPU's free memory (the addon's planLoad(), else nvidia-smi) holds the checkpoint's weights in the engine dtype. */
export const checkGpuMemory: Check = (state) => {
  if (!state.onCuda()) return 'skipped: not on a GPU';
  const { device, dtype } = state.device();
  const modelDir = state.config().modelDir!;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  const compare = (free: number, needed: number, source: string) => {
    if (free < needed) fail(`${device} has ${gib(free)} free (${source}), the weights need ${gib(needed)} in ${dtype}`);
    return `${gib(free)} free (${source}) >= ${gib(needed)} of weights in ${dtype}`;
  };
  // The addon's own plan (the device's free memory as CUDA sees it) when it has one, else nvidia-smi.
  const binding = state.addon();
  if (typeof binding.planLoad === 'function') {
    const plan = binding.planLoad(modelDir, { device, dtype: dtype as Dtype });
    if (plan.availableBytes > 0) return compare(plan.availableBytes, plan.weightBytes, 'the addon');
  }
  const probe = state.probe();
  if (probe === null) return 'skipped: nvidia-smi is not available';
  const gpu = pickGpu(probe, device, state.env.CUDA_VISIBLE_DEVICES);
  if (gpu === null) return `skipped: nvidia-smi does not list ${device}`;
  return compare(gpu.freeBytes, weightsBytes(modelDir, dtype), 'nvidia-smi');
};

/** The worker's own S3 target variables: any one set makes the rest required. */
const S3_TARGET_VARIABLES = ['HIGGS_S3_BUCKET', 'BUCKET_ENDPOINT_URL', 'BUCKET_ACCESS_KEY_ID', 'BUCKET_SECRET_ACCESS_KEY'] as const;

/** s3_output: the S3 variables parse (lib/s3/config.ts) and, when any is set, name a bucket. */
export const checkS3Output: Check = (state) => {
  const settings = readS3Settings(state.env);
  if (settings.problem) fail(settings.problem);
  const set = S3_TARGET_VARIABLES.filter((name) => state.env[name]?.trim());
  if (set.length === 0) return 'not configured (jobs may bring their own s3Config)';
  if (!settings.bucket) {
    fail(`S3 delivery is incomplete: ${set.join(', ')} set but no bucket (set HIGGS_S3_BUCKET, or name the bucket in BUCKET_ENDPOINT_URL)`);
  }
  return `bucket ${settings.bucket}`;
};

/** result_cache: HIGGS_RESULT_CACHE_DIR, when set, is (or can be created in) a writable directory. */
export const checkResultCache: Check = (state) => {
  const dir = state.config().resultCacheDir;
  if (dir === null) return 'not configured';
  let at = dir;
  while (!exists(at) && dirname(at) !== at) at = dirname(at);
  try {
    if (!statSync(at).isDirectory()) fail(`HIGGS_RESULT_CACHE_DIR ${dir}: ${at} is not a directory`);
    accessSync(at, fs.W_OK | fs.X_OK);
  } catch (error) {
    if (error instanceof CheckFailed) throw error;
    fail(`HIGGS_RESULT_CACHE_DIR ${dir}: ${at} is not writable (${(error as Error).message})`);
  }
  return dir;
};

/** ref_audio_fetch: HIGGS_REF_AUDIO_FETCH and HIGGS_REF_AUDIO_ALLOWED_HOSTS parse. */
export const checkRefAudioFetch: Check = (state) => {
  return readFetchPolicy(state.env).enabled ? 'enabled' : 'off';
};

/** platform_env: the platform loop's variables (HIGGS_DRAIN_TIMEOUT_MS, the URL templates) parse; one-shot skips it. */
export const checkPlatformEnv: Check = (state) => {
  if (!state.inputs.platform) return 'skipped: one-shot';
  readPlatformEnv(state.env);
};

const CHECKS: Record<FitnessCheckName, Check> = {
  model_dir: checkModelDir,
  codec_dir: checkCodecDir,
  voices_dir: checkVoicesDir,
  config: checkConfig,
  addon: checkAddon,
  device: checkDevice,
  cuda_driver: checkCudaDriver,
  gpu_memory: checkGpuMemory,
  s3_output: checkS3Output,
  result_cache: checkResultCache,
  ref_audio_fetch: checkRefAudioFetch,
  platform_env: checkPlatformEnv,
};

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readableDir(dir: string, variable: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
    if (isDir) readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(`${variable} ${dir}: ${code === 'ENOENT' ? 'does not exist' : `not readable (${(error as Error).message})`}`);
  }
  if (!isDir) fail(`${variable} ${dir}: not a directory`);
}

/** Opens the file for reading (a permission or a dangling link fails here, not at load). */
function readableFile(dir: string, name: string): string {
  const path = join(dir, name);
  try {
    if (!statSync(path).isFile()) fail(`${path}: not a file`);
    closeSync(openSync(path, 'r'));
  } catch (error) {
    if (error instanceof CheckFailed) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    fail(`${path}: ${code === 'ENOENT' ? 'missing' : `not readable (${(error as Error).message})`}`);
  }
  return path;
}

function readJson(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readText(path));
  } catch (error) {
    fail(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path}: not a JSON object`);
  return value as Record<string, unknown>;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
