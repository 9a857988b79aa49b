// What HiggsAudio creates its engine with: auto device and dtype resolved against the real addon,
// explicit choices kept, and a clear error (before any native work) when no model is configured.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { loadNative } from '../../lib/native/loader.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { chooseCpuDtype, resolveEngineDevice } from '../../lib/service/engine-device.js';
import { rejection } from '../support/rejection.js';

describe('resolveEngineDevice', () => {
  const binding = loadNative();
  const tiny = { modelDir: 'test/fixtures/tiny/hf', options: { maxContext: 256 } };

  it('resolves auto to what the addon sees, with the dtype of that device', () => {
    const gpu = binding.cudaAvailable();
    expect(resolveEngineDevice({ device: 'auto', dtype: 'auto' }, binding)).toMatchObject(gpu ? { device: 'cuda', dtype: 'bfloat16' } : { device: 'cpu', dtype: 'float32' });
  });

  it('auto on the CPU with a model: the decision table on the addon\'s facts, with a reason', () => {
    const resolved = resolveEngineDevice({ device: 'cpu', dtype: 'auto' }, binding, tiny);
    const host = binding.hostInfo();
    const plan = binding.planLoad(tiny.modelDir, { ...tiny.options, dtype: 'float32' });
    const expected = chooseCpuDtype({ checkpointDtype: plan.checkpointDtype, float32NeededBytes: plan.neededBytes, availableBytes: plan.availableBytes, cpuBf16: host.avx512Bf16 || host.amxBf16 });
    expect(resolved).toEqual({ device: 'cpu', dtype: expected.dtype, dtypeReason: `auto on the CPU: ${expected.reason}` });
  });

  it.each([
    [{ device: 'cpu', dtype: 'auto' }, { device: 'cpu', dtype: 'float32' }],
    [{ device: 'cuda:1', dtype: 'auto' }, { device: 'cuda:1', dtype: 'bfloat16' }],
    [{ device: 'cuda', dtype: 'float16' }, { device: 'cuda', dtype: 'float16' }],
    [{ device: 'cpu', dtype: 'bfloat16' }, { device: 'cpu', dtype: 'bfloat16' }],
  ] as const)('keeps an explicit choice: %j', (config, expected) => {
    expect(resolveEngineDevice(config, binding)).toMatchObject(expected);
  });

  it('an explicit dtype is kept with a model too, and its reason says so', () => {
    expect(resolveEngineDevice({ device: 'cpu', dtype: 'float32' }, binding, tiny)).toEqual({ device: 'cpu', dtype: 'float32', dtypeReason: 'configured (HIGGS_DTYPE)' });
  });
});

describe('chooseCpuDtype (HIGGS_DTYPE=auto on the CPU)', () => {
  const GiB = 1024 ** 3;
  const bf16 = { checkpointDtype: 'bfloat16', float32NeededBytes: 27 * GiB, availableBytes: 22 * GiB, cpuBf16: false };
  it.each([
    ['bf16 checkpoint, native bf16, fp32 fits', { ...bf16, availableBytes: 64 * GiB, cpuBf16: true }, 'bfloat16', 'native bf16'],
    ['bf16 checkpoint, native bf16, fp32 does not fit', { ...bf16, cpuBf16: true }, 'bfloat16', 'native bf16'],
    ['bf16 checkpoint, no native bf16, fp32 does not fit', bf16, 'bfloat16', 'float32 would need 27.0 GiB of the 22.0 GiB available'],
    ['bf16 checkpoint, no native bf16, fp32 fits', { ...bf16, availableBytes: 64 * GiB }, 'float32', 'float32 fits'],
    ['bf16 checkpoint, no native bf16, memory unknown', { ...bf16, availableBytes: 0 }, 'float32', 'float32 fits'],
    ['fp32 checkpoint, native bf16', { ...bf16, checkpointDtype: 'float32', cpuBf16: true }, 'float32', 'the checkpoint is float32'],
    ['fp16 checkpoint, does not fit', { ...bf16, checkpointDtype: 'float16' }, 'float32', 'the checkpoint is float16'],
    ['mixed checkpoint', { ...bf16, checkpointDtype: 'mixed', cpuBf16: true }, 'float32', 'the checkpoint is mixed'],
  ] as const)('%s', (_name, facts, dtype, reason) => {
    const choice = chooseCpuDtype(facts);
    expect(choice.dtype).toBe(dtype);
    expect(choice.reason).toContain(reason);
  });
});

describe('the addon\'s facts for the choice', () => {
  const binding = loadNative();

  it('hostInfo is well-formed', () => {
    const host = binding.hostInfo();
    expect(typeof host.avx512Bf16).toBe('boolean');
    expect(typeof host.amxBf16).toBe('boolean');
    expect(Number.isInteger(host.availableMemory) && host.availableMemory >= 0).toBe(true);
  });

  it('planLoad reads the stored dtype and sizes from the headers, and scales with dtype, context and slots', () => {
    const fp32 = binding.planLoad('test/fixtures/tiny/hf', { maxContext: 256, slots: 2, dtype: 'float32' });
    const bf16 = binding.planLoad('test/fixtures/tiny/hf', { maxContext: 512, slots: 2, dtype: 'bfloat16' });
    expect(fp32.checkpointDtype).toBe('bfloat16');
    expect(fp32.checkpointBytes).toBe(fp32.parameterCount * 2);
    expect(fp32.weightBytes).toBe(fp32.parameterCount * 4);
    expect(bf16.weightBytes).toBe(fp32.parameterCount * 2);
    expect(bf16.kvCacheBytes).toBe(fp32.kvCacheBytes); // twice the positions at half the bytes
    expect(fp32.neededBytes).toBe(fp32.weightBytes + fp32.kvCacheBytes + fp32.reserveBytes);
    expect(binding.planLoad('test/fixtures/tiny/orig', { dtype: 'bfloat16' }).checkpointDtype).toBe('float32');
  });

  it('planLoad fails as load would for a directory that is no model', () => {
    expect(() => binding.planLoad('/nonexistent-model-dir')).toThrow(expect.objectContaining({ code: 'E_MODEL_FORMAT' }));
  });
});

describe('HiggsAudio without a configured model', () => {
  it.each([
    [{ modelDir: null }, 'set HIGGS_MODEL_DIR to'],
    [{ codecDir: null }, 'set HIGGS_CODEC_DIR to'],
    [{ modelDir: null, codecDir: null }, 'set HIGGS_MODEL_DIR and HIGGS_CODEC_DIR to'],
  ])('%j: load fails with E_INPUT saying what to set, and health reports it', async (dirs, message) => {
    const tts = new HiggsAudio({ config: { ...loadConfig({ HIGGS_DEVICE: 'cpu' }), ...dirs }, logger: createLogger({ level: 'silent' }) });
    const error = await rejection(tts.load());
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain(message);
    expect(error.message).toContain('an installed package has none');
    expect(tts.health()).toMatchObject({ status: 'failed', error: { code: 'E_INPUT' } });
    await tts.dispose();
  });
});
