// A load that cannot fit fails before it allocates: E_OOM naming the bytes needed and available,
// from the engine's plan (weights in the engine dtype + KV caches + working reserve), with the
// process's memory untouched. And the load log says which dtype and why.
import { afterEach, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { loadNative } from '../../lib/native/loader.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { rejection } from '../support/rejection.js';
import { openTinyService } from '../support/tiny-service.js';

const opened: HiggsAudio[] = [];
const MiB = 1024 ** 2;

const open = (extra: Record<string, unknown>, lines: string[]): HiggsAudio => openTinyService(opened, extra, lines);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.dispose()));
});

describe('a load that cannot fit', () => {
  it('fails with E_OOM naming the bytes, before allocating anything', async () => {
    const lines: string[] = [];
    // The tiny model with 8 slots of a billion positions: terabytes of KV cache.
    const tts = open({ maxContext: 1_000_000_000, slots: 8 }, lines);
    const before = process.memoryUsage().rss;
    const error = await rejection(tts.load());
    const grown = process.memoryUsage().rss - before;
    expect(error.code).toBe('E_OOM');
    const plan = loadNative().planLoad(tinyHfDir, { device: 'cpu', dtype: 'float32', maxContext: 1_000_000_000, slots: 8 });
    expect(plan.neededBytes).toBeGreaterThan(plan.availableBytes);
    expect(error.message).toContain(`(${plan.neededBytes} bytes: weights`);
    expect(error.message).toMatch(/this machine has \d+ MiB \(\d+ bytes\) available/);
    expect(error.message).toContain('lower max_context or slots');
    expect(grown).toBeLessThan(256 * MiB); // no cache was allocated (it would be terabytes)
    expect(tts.health()).toMatchObject({ status: 'failed', error: { code: 'E_OOM' } });
    expect(lines.some((l) => l.includes('"load.failed"') && l.includes('E_OOM'))).toBe(true);
  });

  it('the engine alone refuses it the same way, and stays unloaded', async () => {
    const engine = new (loadNative().Engine)({ maxContext: 2 ** 40, slots: 8 });
    try {
      await expect(engine.load(tinyHfDir)).rejects.toMatchObject({ code: 'E_OOM', message: expect.stringContaining('KV caches') });
      expect(engine.info()).toBeNull();
    } finally {
      await engine.dispose();
    }
  });
});

describe('the load log', () => {
  it('says which dtype auto chose and why', async () => {
    const lines: string[] = [];
    const tts = open({ dtype: 'auto', maxContext: 256 }, lines);
    await tts.load();
    const start = JSON.parse(lines.find((l) => l.includes('"load.start"'))!) as { dtype: string; dtypeReason: string };
    expect(['float32', 'bfloat16']).toContain(start.dtype);
    expect(start.dtypeReason).toMatch(/^auto on the CPU: /);
  });
});
