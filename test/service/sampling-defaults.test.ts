// The sampling defaults are the documented choice (docs/model.md#sampling-defaults), and a request
// that names no sampling field reaches the engine with them: through the library, the OpenAI
// speech body and the CLI, asserted on the GenerateRequest the native Engine actually receives.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCliBackend } from '../../lib/cli/backend.js';
import { createLogger } from '../../lib/common/log.js';
import { loadConfig } from '../../lib/config/load-config.js';
import type { GenerateCallbacks, GenerateRequest, NativeBinding } from '../../lib/native/loader.js';
import { parseSpeechRequest } from '../../lib/openai/speech-request.js';
import { REQUEST_DEFAULTS, SAMPLING_DEFAULTS } from '../../lib/request/defaults.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

// Every Engine the service creates records the requests its generate() is given.
const received = vi.hoisted(() => [] as GenerateRequest[]);
vi.mock('../../lib/native/loader.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lib/native/loader.js')>();
  const recording = new WeakMap<NativeBinding, NativeBinding>();
  const wrap = (binding: NativeBinding): NativeBinding => {
    if (!recording.has(binding)) {
      class RecordingEngine extends binding.Engine {
        override generate(request: GenerateRequest, callbacks?: GenerateCallbacks) {
          received.push(request);
          return super.generate(request, callbacks);
        }
      }
      recording.set(binding, { ...binding, Engine: RecordingEngine });
    }
    return recording.get(binding)!;
  };
  return { ...actual, loadNative: (...args: Parameters<typeof actual.loadNative>) => wrap(actual.loadNative(...args)) };
});

/** The choice docs/model.md#sampling-defaults states: the serve engine's temperature and top_p, every example's top_k. */
const DOCUMENTED = { temperature: 0.7, topP: 0.95, topK: 50, rasWindow: 7, rasMaxRepeats: 2 };

const codecDir = join(goldensDir, 'codec');
const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
  received.length = 0;
});

function service(): HiggsAudio {
  const tts = new HiggsAudio({
    config: { ...loadConfig({ HIGGS_DEVICE: 'cpu' }), modelDir: tinyHfDir, codecDir, voicesDir: null, dtype: 'float32', maxContext: 2048 },
    logger: createLogger({ level: 'silent' }),
  });
  disposers.push(() => tts.dispose());
  return tts;
}

/** The sampling fields of every GenerateRequest the engine received. */
const sampling = () =>
  received.map(({ temperature, topP, topK, rasWindow, rasMaxRepeats }) => ({ temperature, topP, topK, rasWindow, rasMaxRepeats }));

describe('sampling defaults', () => {
  it('REQUEST_DEFAULTS holds the documented choice and says where each value comes from', () => {
    const D = REQUEST_DEFAULTS;
    expect({
      temperature: D.temperature.default,
      topP: D.top_p.default,
      topK: D.top_k.default,
      rasWindow: D.ras_win_len.default,
      rasMaxRepeats: D.ras_win_max_num_repeat.default,
    }).toEqual(DOCUMENTED);
    expect(SAMPLING_DEFAULTS).toEqual(DOCUMENTED);
    for (const field of [D.temperature, D.top_p, D.top_k, D.ras_win_len, D.ras_win_max_num_repeat]) {
      expect(field.source).toContain('docs/model.md#sampling-defaults');
    }
  });

  it('a library request without sampling fields reaches the engine with them', async () => {
    await service().generate({ transcript: 'Hello there.', seed: 1, max_new_tokens: 20 });
    expect(received.length).toBeGreaterThan(0);
    for (const request of sampling()) expect(request).toEqual(DOCUMENTED);
  });

  it('an OpenAI speech body without sampling fields does too, and its own top_k still wins', async () => {
    const tts = service();
    // Seeded: the tiny random model may end a chunk at once for some seeds (no audio to write).
    await tts.generate(parseSpeechRequest({ model: 'tts-1', input: 'Hello there.', response_format: 'wav', max_new_tokens: 20, seed: 1 }).input);
    expect(sampling()).toEqual([DOCUMENTED]);
    received.length = 0;
    await tts.generate(parseSpeechRequest({ input: 'Hello there.', response_format: 'wav', max_new_tokens: 20, top_k: 0, seed: 1 }).input);
    expect(sampling()).toEqual([{ ...DOCUMENTED, topK: 0 }]);
  });

  it('the CLI sends none of its own, so it samples with the same defaults', async () => {
    const backend = createCliBackend(loadConfig({ HIGGS_DEVICE: 'cpu', HIGGS_DTYPE: 'float32', HIGGS_MODEL_DIR: tinyHfDir, HIGGS_CODEC_DIR: codecDir, HIGGS_MAX_CONTEXT: '2048' }));
    disposers.push(() => backend.dispose());
    await backend.speak({ transcript: 'Hi.', output_format: 'wav', seed: 1 }, {});
    expect(received.length).toBeGreaterThan(0);
    for (const request of sampling()) expect(request).toEqual(DOCUMENTED);
  });
});
