// The HiggsAudio front door with the tiny model and codec: lazy single load, generate, stream,
// admission (E_BUSY), cancellation, health, logs, and bounded memory over 100 requests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createLogger } from '../../lib/common/log.js';
import { EXPECTED_ABI, loadNative } from '../../lib/native/loader.js';
import { REQUEST_DEFAULTS } from '../../lib/request/defaults.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { openTinyService, tinyCodecDir } from '../support/tiny-service.js';

const codecDir = tinyCodecDir;
const opened: HiggsAudio[] = [];

const open = (extra: Record<string, unknown> = {}, lines: string[] = []): HiggsAudio => openTinyService(opened, extra, lines);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.dispose()));
});

const request = (extra: Record<string, unknown> = {}) => ({ transcript: 'The sun rises in the east.', seed: 7, max_new_tokens: 40, ...extra });

describe('HiggsAudio', () => {
  it('loads once for concurrent first requests and serves them all', async () => {
    const lines: string[] = [];
    const tts = open({ maxQueue: 8 }, lines);
    const results = await Promise.all([1, 2, 3].map((seed) => tts.generate(request({ seed }))));
    expect(lines.filter((l) => l.includes('"load.start"')).length).toBe(1);
    for (const r of results) {
      expect(r.format).toBe('wav');
      expect(r.sampleRate).toBe(24000);
      expect(r.audio.subarray(0, 4).toString('ascii')).toBe('RIFF');
    }
    expect(tts.health().requests.served).toBe(3);
  });

  it('rejects requests beyond the queue with E_BUSY and serves the rest', async () => {
    const tts = open({ maxConcurrency: 1, maxQueue: 1 });
    await tts.load();
    const outcomes = await Promise.allSettled([1, 2, 3].map((seed) => tts.generate(request({ seed, max_new_tokens: 80 }))));
    const busy = outcomes.filter((o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'E_BUSY');
    expect(busy.length).toBe(1);
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(2);
    expect((await tts.generate(request())).durationSeconds).toBeGreaterThan(0);
  });

  it('validates before anything runs: a bad request is E_INPUT naming the field', async () => {
    const tts = open();
    await expect(tts.generate({ transcript: 'Hi', temperature: 5 })).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('temperature') });
    expect(tts.health().status).toBe('idle'); // nothing was loaded for it
  });

  it('the smallest top_p and max_new_tokens the schema takes give audio (the engine takes them too)', async () => {
    const tts = open();
    const out = await tts.generate(request({ top_p: REQUEST_DEFAULTS.top_p.minimum, max_new_tokens: REQUEST_DEFAULTS.max_new_tokens.minimum }));
    expect(out.durationSeconds).toBeGreaterThan(0);
    // The result says how each chunk ended; a frame cap hit is reported, never silent.
    expect(out.chunks).toEqual([expect.objectContaining({ stopReason: expect.stringMatching(/^(audio_end|max_frames|context_full)$/) })]);
    expect(out.truncated).toBe(out.chunks[0]!.stopReason !== 'audio_end');
    await expect(tts.generate(request({ top_p: 1e-46 }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('top_p: must be >= 1e-9') });
    await expect(tts.generate(request({ max_new_tokens: 9 }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('max_new_tokens: must be >= 10') });
  });

  it('streams chunks that concatenate to the audio generate() gives for the same seed', async () => {
    const tts = open();
    const whole = await tts.generate(request({ transcript: 'One two three four five six.', max_new_tokens: 120 }));
    const chunks: Buffer[] = [];
    for await (const chunk of tts.stream(request({ transcript: 'One two three four five six.', max_new_tokens: 120 }))) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    const streamed = await loadNative().readAudio(Buffer.concat(chunks));
    const reference = await loadNative().readAudio(whole.audio);
    expect(streamed.samples.length).toBe(reference.samples.length);
    let worst = 0;
    for (let i = 0; i < reference.samples.length; i += 1) worst = Math.max(worst, Math.abs(streamed.samples[i]! - reference.samples[i]!));
    // Windows decoded while frames arrive equal the whole decode up to fp32 rounding (exact in fp64:
    // test_codec_decode), a few PCM16 steps at most after the codec's deep convolution stack.
    expect(worst).toBeLessThanOrEqual(8 / 32768);
  });

  it('streams audio while the frames after it are still being generated', async () => {
    const tts = open();
    let columns = 0;
    let columnsAtFirstAudio = -1;
    let chunks = 0;
    // Seed 9 runs this tiny model for ~500 columns before its end.
    const stream = tts.stream(request({ transcript: 'Streaming while generating, one window at a time.', chunk_method: 'none', max_new_tokens: 600, seed: 9 }), {
      onProgress: (p) => {
        columns = p.columns;
      },
    });
    for await (const _chunk of stream) {
      chunks += 1;
      if (chunks === 2) columnsAtFirstAudio = columns; // chunk 1 is the WAV header
    }
    expect(columns).toBeGreaterThan(100); // a generation long enough to overlap
    expect(columnsAtFirstAudio).toBeGreaterThan(0);
    // Decoded on the codec thread beside the generation: the first PCM is out long before the end.
    expect(columnsAtFirstAudio).toBeLessThan(columns);
  });

  it('cancels a stream in the middle and serves the next request', async () => {
    const tts = open();
    const controller = new AbortController();
    const received: Buffer[] = [];
    const consume = (async () => {
      for await (const chunk of tts.stream(request({ transcript: 'A long sentence to speak slowly. '.repeat(6), chunk_method: 'word', chunk_max_word_num: 6, max_new_tokens: 60 }), {
        signal: controller.signal,
      })) {
        received.push(chunk);
        if (received.length === 2) controller.abort();
      }
    })();
    await expect(consume).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(tts.health().requests.cancelled).toBe(1);
    expect((await tts.generate(request())).durationSeconds).toBeGreaterThan(0);
  });

  it('reports sane health', async () => {
    const tts = open();
    expect(tts.health()).toMatchObject({ status: 'idle', model: null, gpuMemory: null });
    await tts.generate(request());
    const health = tts.health();
    expect(health.status).toBe('ready');
    expect(health.model).toMatchObject({ format: 'transformers', device: 'cpu', dtype: 'float32', numLayers: 3 });
    expect(health.model!.parameterCount).toBeGreaterThan(1e6);
    expect(health.codec).toMatchObject({ sampleRate: 24000, numQuantizers: 8 });
    expect(health.loadSeconds).toBeGreaterThan(0);
    expect(health.requests).toMatchObject({ served: 1, failed: 0, active: 0, queued: 0 });
    expect(health.averageGenerationSeconds).toBeGreaterThan(0);
    expect(health.averageRealTimeFactor).toBeGreaterThan(0);
    expect(health.memory.rss).toBeGreaterThan(health.memory.heapUsed);
    expect(health.gpuMemory).toBeNull(); // loaded, but on the CPU
    expect(health.concurrency).toEqual({ limit: 1, source: 'env' }); // set by the caller
  });

  it('names the package version and what the addon was built with in health, loaded or not', async () => {
    const tts = open();
    const torch = execFileSync(join(repoRoot, '.venv', 'bin', 'python'), ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
    const expected = {
      version: JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version,
      abi: EXPECTED_ABI,
      torchVersion: torch.replace(/\+.*$/, ''), // "2.13.0+cpu": the wheel's local tag is not in torch/version.h
      cudaVersion: 'cpu', // this build (build/Release) is the CPU one
      kernelArchs: 'cpu',
    };
    expect(tts.health().build).toEqual(expected);
    await tts.generate(request());
    expect(tts.health().build).toEqual(expected);
    expect(loadNative().buildInfo()).toEqual({ torchVersion: expected.torchVersion, cudaVersion: 'cpu', kernelArchs: 'cpu' });
  });

  it('admits as many requests as the engine has slots on the CPU, and says so in health and the load log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const config = { ...loadConfig({ HIGGS_DEVICE: 'cpu', HIGGS_SLOTS: '3' }), modelDir: tinyHfDir, codecDir, voicesDir: null, maxContext: 2048 };
    const tts = new HiggsAudio({ config, logger });
    opened.push(tts);
    expect(tts.health().concurrency).toEqual({ limit: 1, source: 'default' }); // before the load
    await tts.generate(request({ max_new_tokens: 20 }));
    expect(tts.maxConcurrency).toBe(3);
    expect(tts.health()).toMatchObject({
      concurrency: { limit: 3, source: 'engine' },
      gpuMemory: null,
      model: { slots: 3, decode: 'eager', batching: 'exact', slotContext: 2048 },
    });
    const loaded = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.event === 'load.done');
    expect(loaded).toMatchObject({ maxConcurrency: 3, concurrencySource: 'engine' });
    expect(lines.some((l) => l.includes('"gpu.release'))).toBe(false);
  });

  it("keeps a long request's place: its later chunks go before a request that arrived after it", async () => {
    // One slot, two requests admitted: the engine's queue decides who decodes next.
    const config = {
      ...loadConfig({ HIGGS_DEVICE: 'cpu', HIGGS_SLOTS: '1', HIGGS_MAX_CONCURRENCY: '2' }),
      modelDir: tinyHfDir,
      codecDir,
      voicesDir: null,
      maxContext: 2048,
    };
    const tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }) });
    opened.push(tts);
    await tts.load();
    const finished: string[] = [];
    let started!: () => void;
    const firstChunkRuns = new Promise<void>((resolve) => (started = resolve));
    const long = tts
      .generate(request({ transcript: 'One two three. Four five six. Seven eight nine.', chunk_method: 'word', chunk_max_word_num: 3, max_new_tokens: 120 }), {
        onProgress: () => started(),
      })
      .then((out) => {
        finished.push('long');
        return out;
      });
    await firstChunkRuns;
    const late = tts.generate(request({ seed: 8, max_new_tokens: 120 })).then(() => finished.push('late'));
    const out = await long;
    await late;
    expect(out.chunks).toHaveLength(3);
    expect(finished).toEqual(['long', 'late']);
  });

  it('logs JSON lines with requestId and never an audio payload', async () => {
    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'higgs-ref-'));
    const wav = join(dir, 'ref.wav');
    execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', wav, 'synth', '1', 'sine', '300']);
    const base64 = execFileSync('base64', ['-w0', wav], { encoding: 'utf8' });
    const tts = open({}, lines);
    await tts.generate(request({ ref_audio: { base64, transcript: 'A tone.' } }), { requestId: 'job-42' });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.every((r) => typeof r.message === 'string' && typeof r.level === 'string')).toBe(true);
    expect(records.some((r) => r.requestId === 'job-42' && r.event === 'generate.done')).toBe(true);
    expect(lines.join('\n')).not.toContain(base64.slice(0, 64));
  });

  it('load failures are reported with their code, and dispose is final', async () => {
    const tts = open({ modelDir: join(tmpdir(), 'no-such-model') });
    await expect(tts.generate(request())).rejects.toMatchObject({ code: 'E_MODEL_FORMAT' });
    expect(tts.health()).toMatchObject({ status: 'failed', error: { code: 'E_MODEL_FORMAT' } });
    await tts.dispose();
    await expect(tts.load()).rejects.toMatchObject({ code: 'E_NOT_LOADED' });
  });

  it('keeps RSS bounded over 100 sequential requests', async () => {
    const tts = open();
    for (let i = 0; i < 10; i += 1) await tts.generate(request({ seed: i, max_new_tokens: 20 })); // warm-up
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 100; i += 1) await tts.generate(request({ seed: i, max_new_tokens: 20 }));
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect(tts.health().requests.served).toBe(110);
  }, 300_000);
});
