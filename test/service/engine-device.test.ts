// What HiggsAudio creates its engine with: auto device and dtype resolved against the real addon,
// explicit choices kept, and a clear error (before any native work) when no model is configured.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { loadNative } from '../../lib/native/loader.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { resolveEngineDevice } from '../../lib/service/engine-device.js';
import { rejection } from '../support/rejection.js';

describe('resolveEngineDevice', () => {
  const binding = loadNative();

  it('resolves auto to what the addon sees, with the dtype of that device', () => {
    const gpu = binding.cudaAvailable();
    expect(resolveEngineDevice({ device: 'auto', dtype: 'auto' }, binding)).toEqual(gpu ? { device: 'cuda', dtype: 'bfloat16' } : { device: 'cpu', dtype: 'float32' });
  });

  it.each([
    [{ device: 'cpu', dtype: 'auto' }, { device: 'cpu', dtype: 'float32' }],
    [{ device: 'cuda:1', dtype: 'auto' }, { device: 'cuda:1', dtype: 'bfloat16' }],
    [{ device: 'cuda', dtype: 'float16' }, { device: 'cuda', dtype: 'float16' }],
    [{ device: 'cpu', dtype: 'bfloat16' }, { device: 'cpu', dtype: 'bfloat16' }],
  ] as const)('keeps an explicit choice: %j', (config, expected) => {
    expect(resolveEngineDevice(config, binding)).toEqual(expected);
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
