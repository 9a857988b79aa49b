// Environment configuration: every variable valid and invalid (the message names it), the
// defaults, where each path came from, the RunPod volume layout, and the bundled fallbacks.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledCodecDir, bundledModelDir, loadConfig, type HiggsConfig } from '../../lib/config/load-config.js';
import { runpodVolume } from '../../lib/runpod/volume.js';
import { HiggsError } from '../../lib/common/errors.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';

const bundledCodec = join(repoRoot, 'test', 'fixtures', 'goldens', 'codec');
const scratch = mkdtempSync(join(tmpdir(), 'higgs-config-'));
/** A volume that does not exist: the bundled fallbacks apply whatever this machine has. */
const noVolume = { volume: runpodVolume(join(scratch, 'no-volume')) };

const load = (env: NodeJS.ProcessEnv): HiggsConfig => loadConfig(env, noVolume);

/** The E_INPUT error loadConfig throws for `env`. */
function failure(env: NodeJS.ProcessEnv): HiggsError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(HiggsError);
    expect((error as HiggsError).code).toBe('E_INPUT');
    return error as HiggsError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

function dir(name: string): string {
  const path = join(scratch, name);
  mkdirSync(path, { recursive: true });
  return path;
}

describe('loadConfig defaults', () => {
  it('falls back to the bundled tiny model and codec, no voices, auto device and dtype', () => {
    const config = load({});
    expect(config).toEqual({
      modelDir: tinyHfDir,
      codecDir: bundledCodec,
      voicesDir: null,
      device: 'auto',
      dtype: 'auto',
      maxConcurrency: 1,
      decode: 'auto',
      slots: 0,
      batching: 'exact',
      weights: 'dense',
      maxQueue: 16,
      logLevel: 'info',
      maxContext: 8192,
      gpuReleaseThresholdMb: 1024,
      streamPartMs: 500,
      fusedKernels: true,
      nextKernels: false,
      resultCacheDir: null,
      resultCacheMb: 1024,
      sources: {
        modelDir: 'bundled',
        codecDir: 'bundled',
        voicesDir: 'none',
        device: 'default',
        dtype: 'default',
        maxConcurrency: 'default',
        decode: 'default',
        slots: 'default',
        batching: 'default',
        weights: 'default',
        maxQueue: 'default',
        logLevel: 'default',
        maxContext: 'default',
        gpuReleaseThresholdMb: 'default',
        streamPartMs: 'default',
        fusedKernels: 'default',
        nextKernels: 'default',
        resultCacheDir: 'none',
        resultCacheMb: 'default',
      },
    });
  });

  it('knows no volume unless one is passed (the RunPod modes pass theirs)', () => {
    const config = loadConfig({});
    expect(config.modelDir).toBe(tinyHfDir);
    expect(config.codecDir).toBe(bundledCodec);
    expect(config.voicesDir).toBeNull();
    expect(config.sources).toMatchObject({ modelDir: 'bundled', codecDir: 'bundled', voicesDir: 'none' });
  });

  it('takes the RunPod volume layout when it is mounted', () => {
    const root = dir('volume/higgs_audio');
    const model = dir('volume/higgs_audio/bosonai/higgs-audio-v2-generation-3B-base');
    const codec = dir('volume/higgs_audio/bosonai/higgs-audio-v2-tokenizer');
    const voices = dir('volume/higgs_audio/voice_prompts');
    writeFileSync(join(model, 'config.json'), '{}');
    writeFileSync(join(codec, 'config.json'), '{}');
    const config = loadConfig({}, { volume: runpodVolume(root) });
    expect(config).toMatchObject({ modelDir: model, codecDir: codec, voicesDir: voices });
    expect(config.sources).toMatchObject({ modelDir: 'volume', codecDir: 'volume', voicesDir: 'volume' });
  });

  it('ignores a RunPod model folder without config.json (a half-copied volume)', () => {
    const root = dir('partial/higgs_audio');
    dir('partial/higgs_audio/bosonai/higgs-audio-v2-generation-3B-base');
    const config = loadConfig({}, { volume: runpodVolume(root) });
    expect(config.modelDir).toBe(tinyHfDir);
    expect(config.sources.modelDir).toBe('bundled');
  });

  it('treats empty and blank variables as unset', () => {
    const config = load({ HIGGS_MODEL_DIR: '', HIGGS_DEVICE: '  ', HIGGS_MAX_QUEUE: '' });
    expect(config.sources).toMatchObject({ modelDir: 'bundled', device: 'default', maxQueue: 'default' });
    expect(config.maxQueue).toBe(16);
  });


  it('bundles the tiny model and codec of a source checkout', () => {
    expect([bundledModelDir(), bundledCodecDir()]).toEqual([tinyHfDir, bundledCodec]);
  });
});

describe.each(['HIGGS_MODEL_DIR', 'HIGGS_CODEC_DIR'] as const)('%s', (variable) => {
  const key = variable === 'HIGGS_MODEL_DIR' ? 'modelDir' : 'codecDir';

  it('takes an existing directory, resolved to an absolute path', () => {
    const path = dir(`${key}-ok`);
    const config = load({ [variable]: path });
    expect(config[key]).toBe(path);
    expect(config.sources[key]).toBe('env');
    expect(load({ [variable]: '.' })[key]).toBe(resolve('.'));
  });

  it('refuses a missing directory, naming the variable', () => {
    const missing = join(scratch, `${key}-missing`);
    expect(failure({ [variable]: missing }).message).toContain(`${variable}: ${missing} does not exist`);
  });

  it('refuses a file, naming the variable', () => {
    const file = join(scratch, `${key}-file`);
    writeFileSync(file, 'x');
    expect(failure({ [variable]: file }).message).toContain(`${variable}: ${file} is not a directory`);
  });
});

describe('HIGGS_VOICES_DIR', () => {
  it('takes a directory, even one that does not exist yet (no voices)', () => {
    const later = join(scratch, 'voices-later');
    const config = load({ HIGGS_VOICES_DIR: later });
    expect(config.voicesDir).toBe(later);
    expect(config.sources.voicesDir).toBe('env');
    expect(load({ HIGGS_VOICES_DIR: dir('voices') }).voicesDir).toBe(join(scratch, 'voices'));
  });

  it('refuses a file, naming the variable', () => {
    const file = join(scratch, 'voices-file');
    writeFileSync(file, 'x');
    expect(failure({ HIGGS_VOICES_DIR: file }).message).toContain(`HIGGS_VOICES_DIR: ${file} is not a directory`);
  });
});

describe('HIGGS_DEVICE', () => {
  it.each([
    // auto stays auto: the service resolves it when it creates the engine (engine-device.ts).
    ['auto', 'auto'],
    ['cpu', 'cpu'],
    ['cuda', 'cuda'],
    ['cuda:1', 'cuda:1'],
    [' cuda ', 'cuda'],
  ])('%j runs on %s', (value, device) => {
    const config = load({ HIGGS_DEVICE: value });
    expect(config.device).toBe(device);
    expect(config.sources.device).toBe('env');
  });

  // 1 stands until the load, when HiggsAudio takes the engine's slots.
  it('defaults dtype to auto and concurrency to 1 on every device until the load', () => {
    expect(load({ HIGGS_DEVICE: 'cuda' })).toMatchObject({ dtype: 'auto', maxConcurrency: 1 });
    expect(load({ HIGGS_DEVICE: 'cpu' })).toMatchObject({ dtype: 'auto', maxConcurrency: 1 });
    expect(load({})).toMatchObject({ dtype: 'auto', maxConcurrency: 1 });
  });

  it.each(['gpu', 'CUDA0', 'cuda:x', 'mps'])('refuses %j, naming the variable and the choices', (value) => {
    expect(failure({ HIGGS_DEVICE: value }).message).toContain(`HIGGS_DEVICE: must be one of auto, cuda, cuda:N, cpu (got "${value}")`);
  });
});

describe('HIGGS_DTYPE', () => {
  it.each(['float32', 'bfloat16', 'float16'] as const)('takes %s', (value) => {
    const config = load({ HIGGS_DTYPE: value, HIGGS_DEVICE: 'cuda' });
    expect(config.dtype).toBe(value);
    expect(config.sources.dtype).toBe('env');
  });

  it.each(['fp16', 'bf16', 'half', 'int8'])('refuses %j, naming the variable and the choices', (value) => {
    expect(failure({ HIGGS_DTYPE: value }).message).toContain(`HIGGS_DTYPE: must be one of float32, bfloat16, float16 (got "${value}")`);
  });
});

describe('HIGGS_DECODE', () => {
  it.each(['auto', 'eager', 'static', 'graph'] as const)('takes %s', (value) => {
    expect(load({ HIGGS_DECODE: value })).toMatchObject({ decode: value, sources: { decode: 'env' } });
  });

  it.each(['cuda-graph', 'Eager', 'fast'])('refuses %j, naming the variable and the choices', (value) => {
    expect(failure({ HIGGS_DECODE: value }).message).toContain(`HIGGS_DECODE: must be one of auto, eager, static, graph (got "${value}")`);
  });
});

describe('HIGGS_BATCHING', () => {
  it('is exact unless asked, and takes fast', () => {
    expect(load({}).batching).toBe('exact');
    expect(load({}).sources.batching).toBe('default');
    expect(load({ HIGGS_BATCHING: 'fast' })).toMatchObject({ batching: 'fast', sources: { batching: 'env' } });
  });

  it.each(['quick', 'Fast', '1'])('refuses %j, naming the variable and the choices', (value) => {
    expect(failure({ HIGGS_BATCHING: value }).message).toContain(`HIGGS_BATCHING: must be one of exact, fast (got "${value}")`);
  });
});

describe('HIGGS_WEIGHTS', () => {
  it('is dense unless asked, and takes int8', () => {
    expect(load({})).toMatchObject({ weights: 'dense', sources: { weights: 'default' } });
    expect(load({ HIGGS_WEIGHTS: 'int8' })).toMatchObject({ weights: 'int8', sources: { weights: 'env' } });
  });

  it.each(['int4', 'INT8', 'bf16'])('refuses %j, naming the variable and the choices', (value) => {
    expect(failure({ HIGGS_WEIGHTS: value }).message).toContain(`HIGGS_WEIGHTS: must be one of dense, int8 (got "${value}")`);
  });
});

describe.each([
  { variable: 'HIGGS_MAX_CONCURRENCY', key: 'maxConcurrency', good: ['1', '3', '256'], bad: ['0', '-1', '1.5', 'two', '257', '1e3'] },
  { variable: 'HIGGS_SLOTS', key: 'slots', good: ['0', '1', '4', '256'], bad: ['-1', '1.5', 'four', '257'] },
  { variable: 'HIGGS_MAX_QUEUE', key: 'maxQueue', good: ['0', '16', '100000'], bad: ['-1', 'ten', '2.5', '100001'] },
  { variable: 'HIGGS_MAX_CONTEXT', key: 'maxContext', good: ['256', '4096', '131072'], bad: ['10', '0', '131073', '8k'] },
  {
    variable: 'HIGGS_GPU_RELEASE_THRESHOLD_MB',
    key: 'gpuReleaseThresholdMb',
    good: ['0', '1', '512', ' 2048 ', '1048576'],
    bad: ['-1', '1.5', '1GB', '1048577', '1e3', 'off'],
  },
  { variable: 'HIGGS_STREAM_PART_MS', key: 'streamPartMs', good: ['20', '500', '10000'], bad: ['0', '19', '10001', '0.5', '500ms'] },
] as const)('$variable', ({ variable, key, good, bad }) => {
  it.each(good)('takes %j', (value) => {
    const config = load({ [variable]: value });
    expect(config[key]).toBe(Number(value));
    expect(config.sources[key]).toBe('env');
  });

  it.each(bad)('refuses %j, naming the variable', (value) => {
    expect(failure({ [variable]: value }).message).toMatch(new RegExp(`${variable}: must be (a whole number|at least|at most)`));
  });
});

describe.each([
  { variable: 'HIGGS_FUSED_KERNELS', key: 'fusedKernels' },
  { variable: 'HIGGS_KERNELS_NEXT', key: 'nextKernels' },
] as const)('$variable (a switch the engine takes as an option)', ({ variable, key }) => {
  it('takes 0 and 1', () => {
    expect(load({ [variable]: '0' })[key]).toBe(false);
    expect(load({ [variable]: ' 1 ' })[key]).toBe(true);
    expect(load({ [variable]: '1' }).sources[key]).toBe('env');
  });

  it.each(['yes', 'true', '2', 'off'])('refuses %j, naming the variable', (value) => {
    expect(failure({ [variable]: value }).message).toContain(`${variable}: must be 0 or 1 (got "${value}")`);
  });
});

describe('HIGGS_LOG_LEVEL', () => {
  it.each(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const)('takes %s', (value) => {
    expect(load({ HIGGS_LOG_LEVEL: value }).logLevel).toBe(value);
  });

  it('refuses an unknown level, naming the variable and the choices', () => {
    expect(failure({ HIGGS_LOG_LEVEL: 'verbose' }).message).toContain(
      'HIGGS_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent (got "verbose")',
    );
  });
});

it('HIGGS_GPU_RELEASE_THRESHOLD_MB explains its bounds', () => {
  expect(failure({ HIGGS_GPU_RELEASE_THRESHOLD_MB: '1048577' }).message).toContain('HIGGS_GPU_RELEASE_THRESHOLD_MB: must be at most 1048576');
  expect(failure({ HIGGS_GPU_RELEASE_THRESHOLD_MB: '-5' }).message).toContain(
    'HIGGS_GPU_RELEASE_THRESHOLD_MB: must be a whole number from 0 to 1048576 (got "-5")',
  );
  expect(load({ HIGGS_GPU_RELEASE_THRESHOLD_MB: '' }).sources.gpuReleaseThresholdMb).toBe('default');
});

it('names every invalid variable in one message', () => {
  const message = failure({ HIGGS_DEVICE: 'gpu', HIGGS_DTYPE: 'fp8', HIGGS_MAX_QUEUE: '-3' }).message;
  expect(message.split('\n')).toEqual([
    'invalid configuration:',
    expect.stringMatching(/^ {2}HIGGS_DEVICE: /),
    expect.stringMatching(/^ {2}HIGGS_DTYPE: /),
    expect.stringMatching(/^ {2}HIGGS_MAX_QUEUE: /),
  ]);
});
