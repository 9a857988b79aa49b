// The worker's fitness checks (lib/runpod/worker/fitness.ts): the real `higgs-audio worker`
// process against a fake RunPod platform on loopback. A worker that cannot serve writes ONE JSON
// line naming the failed check and exits non-zero before it asks for a job; a good one logs the
// checks it passed and takes a job. The GPU checks run here with an injected addon and nvidia-smi.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tinyHfDir } from '../../setup/fixture-paths.js';
import { goldensDir } from '../../support/goldens.js';
import { FakeRunPod } from '../../support/fake-runpod.js';
import { FITNESS_CHECKS, runFitnessChecks, type FitnessInputs } from '../../../lib/runpod/worker/fitness.js';
import { cudaVersion, parseNvidiaSmi, pickGpu, weightsBytes, type GpuProbe } from '../../../lib/runpod/worker/fitness-gpu.js';
import { loadConfig } from '../../../lib/config/load-config.js';

const bin = join(repoRoot, 'bin', 'higgs-audio.js');
const codecDir = join(goldensDir, 'codec');
const scratch = mkdtempSync(join(tmpdir(), 'higgs-fitness-'));
let fake: FakeRunPod | undefined;

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist', 'lib', 'runpod', 'worker', 'fitness.js'))) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(HIGGS_(?!AUDIO_ADDON$)|RUNPOD_|BUCKET_|AWS_)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    HIGGS_MODEL_DIR: tinyHfDir,
    HIGGS_CODEC_DIR: codecDir,
    HIGGS_DEVICE: 'cpu',
    HIGGS_DTYPE: 'float32',
    HIGGS_MAX_CONTEXT: '2048',
    HIGGS_LOG_LEVEL: 'silent',
    RUNPOD_ENDPOINT_ID: 'ep-test',
  };
}

/** Runs the worker on a fresh fake platform until it exits (or `untilResult`, then SIGTERM). */
async function runWorker(extra: Record<string, string>, untilResult?: string) {
  fake = await new FakeRunPod().start();
  if (untilResult) fake.enqueue({ id: untilResult, input: { action: 'health' } });
  const child = spawn(process.execPath, [bin, 'worker'], { cwd: repoRoot, env: fake.env({ ...baseEnv(), ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const closed = once(child, 'close') as Promise<[number | null]>;
  if (untilResult) {
    const platform = fake;
    await platform.waitFor(() => platform.result(untilResult) !== undefined, 60_000, `the result of ${untilResult}`);
    child.kill('SIGTERM');
  }
  const [code] = await closed;
  return { code, stdout, stderr, requests: fake.requests };
}

async function expectFails(check: string, extra: Record<string, string>, message: RegExp): Promise<void> {
  const run = await runWorker(extra);
  expect(run.code).not.toBe(0);
  expect(run.stderr).toBe('');
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(line).toMatchObject({ level: 'FATAL', event: 'fitness.failed', check });
  expect(String(line.message)).toMatch(message);
  expect(run.requests).toEqual([]); // no take, no ping: nothing reached the platform
}

const dir = (name: string) => {
  const path = join(scratch, name);
  mkdirSync(path, { recursive: true });
  return path;
};

describe('higgs-audio worker fitness checks (platform mode)', () => {
  it('fails device for HIGGS_DEVICE=cuda on this CPU build', async () => {
    await expectFails('device', { HIGGS_DEVICE: 'cuda' }, /HIGGS_DEVICE=cuda: the native addon was built without CUDA or sees no GPU/);
  });

  it('fails model_dir for a missing directory, one without weights, and one without config.json', async () => {
    await expectFails('model_dir', { HIGGS_MODEL_DIR: join(scratch, 'nowhere') }, /does not exist/);
    const noWeights = dir('model-no-weights');
    copyFileSync(join(tinyHfDir, 'config.json'), join(noWeights, 'config.json'));
    copyFileSync(join(tinyHfDir, 'tokenizer.json'), join(noWeights, 'tokenizer.json'));
    await expectFails('model_dir', { HIGGS_MODEL_DIR: noWeights }, /no weights/);
    const shardMissing = dir('model-shard-missing');
    copyFileSync(join(tinyHfDir, 'config.json'), join(shardMissing, 'config.json'));
    copyFileSync(join(tinyHfDir, 'tokenizer.json'), join(shardMissing, 'tokenizer.json'));
    writeFileSync(join(shardMissing, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors' } }));
    await expectFails('model_dir', { HIGGS_MODEL_DIR: shardMissing }, /model-00001-of-00002\.safetensors: missing/);
    await expectFails('model_dir', { HIGGS_MODEL_DIR: dir('model-empty') }, /config\.json: missing/);
  });

  it.skipIf(process.getuid?.() === 0)('fails model_dir for a directory it may not read', async () => {
    const locked = dir('model-locked');
    chmodSync(locked, 0o000);
    try {
      await expectFails('model_dir', { HIGGS_MODEL_DIR: locked }, /not readable/);
    } finally {
      chmodSync(locked, 0o755);
    }
  });

  it('fails codec_dir for a codec directory without weights, or holding the LM', async () => {
    const codec = dir('codec-no-weights');
    copyFileSync(join(codecDir, 'config.json'), join(codec, 'config.json'));
    await expectFails('codec_dir', { HIGGS_CODEC_DIR: codec }, /model\.safetensors: missing/);
    await expectFails('codec_dir', { HIGGS_CODEC_DIR: tinyHfDir }, /holds the generation model/);
  });

  it('fails voices_dir for a voices path that cannot be read (a file; a link loop)', async () => {
    const file = join(scratch, 'voices-file');
    writeFileSync(file, 'not a directory');
    await expectFails('voices_dir', { HIGGS_VOICES_DIR: file }, /not a directory/);
    const loop = join(scratch, 'voices-loop');
    if (!existsSync(loop)) symlinkSync(loop, loop); // stat fails with ELOOP, even for root
    await expectFails('voices_dir', { HIGGS_VOICES_DIR: loop }, /ELOOP|too many/i);
  });

  it('fails s3_output for an incomplete set of S3 variables', async () => {
    await expectFails('s3_output', { BUCKET_ACCESS_KEY_ID: 'id' }, /BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY must be set together/);
    await expectFails('s3_output', { BUCKET_ACCESS_KEY_ID: 'id', BUCKET_SECRET_ACCESS_KEY: 'secret' }, /incomplete: .*no bucket/);
    await expectFails('s3_output', { BUCKET_ENDPOINT_URL: 'not a url', HIGGS_S3_BUCKET: 'b' }, /BUCKET_ENDPOINT_URL/);
  });

  it('fails config, result_cache and platform_env for the other settings it reads', async () => {
    await expectFails('config', { HIGGS_DEVICE: 'gpu' }, /HIGGS_DEVICE: must be one of/);
    const file = join(scratch, 'cache-file');
    writeFileSync(file, '');
    await expectFails('result_cache', { HIGGS_RESULT_CACHE_DIR: join(file, 'sub') }, /is not a directory/);
    await expectFails('ref_audio_fetch', { HIGGS_REF_AUDIO_FETCH: 'yes' }, /HIGGS_REF_AUDIO_FETCH/);
    await expectFails('platform_env', { HIGGS_DRAIN_TIMEOUT_MS: '-1' }, /HIGGS_DRAIN_TIMEOUT_MS/);
  });

  it('passes every check with a good configuration, logs them in one line, then takes a job', async () => {
    const run = await runWorker({ HIGGS_LOG_LEVEL: 'info', HIGGS_S3_BUCKET: 'my-bucket', HIGGS_VOICES_DIR: dir('voices') }, 'job-ok');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const passed = lines.filter((line) => line.event === 'fitness.passed');
    expect(passed).toHaveLength(1);
    expect(passed[0]).toMatchObject({ level: 'INFO', checks: [...FITNESS_CHECKS], notes: { device: 'cpu float32', s3_output: 'bucket my-bucket' } });
    expect(lines.indexOf(passed[0]!)).toBe(0); // before the model loads
    expect(run.requests.some((r) => r.route === 'take' || r.route === 'take-batch')).toBe(true);
    expect(fake!.result('job-ok')).toMatchObject({ output: { health: { status: 'ready' } } });
  });
});

describe('the GPU checks (injected addon and nvidia-smi)', () => {
  const BANNER = '| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: 12.2     |';
  const probe = (freeMiB: number): GpuProbe => parseNvidiaSmi(BANNER, `0, GPU-aaaa, ${freeMiB}, 535.54.03\n1, GPU-bbbb, 80000, 535.54.03\n`);
  const inputs = (over: Partial<FitnessInputs> & { env?: Record<string, string> } = {}): FitnessInputs => ({
    platform: false,
    loadConfig: () => loadConfig(over.env ?? env, { cache: null }),
    loadBinding: () => ({ cudaAvailable: () => true }),
    probeGpu: () => probe(1000),
    ...over,
    env: over.env ?? env,
  });
  const env = { HIGGS_MODEL_DIR: tinyHfDir, HIGGS_CODEC_DIR: codecDir, HIGGS_DEVICE: 'cuda' };

  it('reads nvidia-smi, CUDA versions, the GPU a device means and the weights in a dtype', () => {
    const p = probe(1000);
    expect(p).toMatchObject({ driverVersion: '535.54.03', driverCuda: [12, 2] });
    expect(p.gpus[0]).toEqual({ index: 0, uuid: 'GPU-aaaa', freeBytes: 1000 * 2 ** 20 });
    expect(pickGpu(p, 'cuda', undefined)?.index).toBe(0);
    expect(pickGpu(p, 'cuda:0', '1')?.index).toBe(1);
    expect(pickGpu(p, 'cuda', 'GPU-bbbb')?.index).toBe(1);
    expect(pickGpu(p, 'cuda:2', undefined)).toBeNull();
    expect(cudaVersion(12040)).toEqual([12, 4]);
    expect(cudaVersion('11.8')).toEqual([11, 8]);
    expect(cudaVersion(undefined)).toBeNull();
    const fp32 = weightsBytes(tinyHfDir, 'float32');
    expect(fp32).toBeGreaterThan(0);
    expect(weightsBytes(tinyHfDir, 'bfloat16')).toBeLessThan(fp32);
  });

  it('passes on a GPU with room, noting what it could not check', () => {
    const report = runFitnessChecks(inputs());
    expect(report.ok).toBe(true);
    if (!report.ok) return;
    expect(report.notes.device).toBe('cuda bfloat16');
    expect(report.notes.cuda_driver).toMatch(/driver supports CUDA 12\.2; skipped: this addon does not report its build's CUDA version/);
    expect(report.notes.gpu_memory).toMatch(/free \(nvidia-smi\) >= .* of weights in bfloat16/);
  });

  it('fails cuda_driver when the build needs a newer CUDA than the driver has', () => {
    const report = runFitnessChecks(inputs({ loadBinding: () => ({ cudaAvailable: () => true, buildInfo: () => ({ cudaVersion: '12.4' }) }) }));
    expect(report).toMatchObject({ ok: false, check: 'cuda_driver' });
    expect(!report.ok && report.message).toMatch(/supports CUDA 12\.2 but the addon was built with CUDA 12\.4/);
  });

  it('fails gpu_memory when the free memory does not hold the weights, and device for a GPU that is not there', () => {
    expect(runFitnessChecks(inputs({ probeGpu: () => probe(0) }))).toMatchObject({ ok: false, check: 'gpu_memory' });
    // The addon's own plan, when it has one, wins over nvidia-smi.
    const plan = (availableBytes: number) => () => ({ cudaAvailable: () => true, planLoad: () => ({ weightBytes: 100, availableBytes }) as never });
    const tight = runFitnessChecks(inputs({ loadBinding: plan(50), probeGpu: () => probe(80_000) }));
    expect(tight).toMatchObject({ ok: false, check: 'gpu_memory' });
    expect(!tight.ok && tight.message).toMatch(/\(the addon\)/);
    expect(runFitnessChecks(inputs({ loadBinding: plan(200), probeGpu: () => probe(0) })).ok).toBe(true);
    expect(runFitnessChecks(inputs({ env: { ...env, HIGGS_DEVICE: 'cuda:3' } }))).toMatchObject({ ok: false, check: 'device' });
    expect(runFitnessChecks(inputs({ loadBinding: () => ({ cudaAvailable: () => false }) }))).toMatchObject({ ok: false, check: 'device' });
  });
});
