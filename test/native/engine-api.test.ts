// The N-API Engine's contract: progress, Promise settlement off the JS thread, errors with
// stable codes, and disposal.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addonCandidates, loadNative, type LoadProgress } from '../../lib/native/loader.js';
import { tinyHfDir, tinyOriginalDir } from '../setup/fixture-paths.js';
import { mixedPrompt, newEngine, toForwardRequest } from '../support/engine.js';

describe('Engine', () => {
  it('reports load progress in phases, non-decreasing, ending at ready 1.0', async () => {
    const engine = newEngine();
    const events: LoadProgress[] = [];
    try {
      const info = await engine.load(tinyOriginalDir, (p) => events.push(p));
      // Progress crosses threads without blocking the engine: let queued callbacks drain.
      await new Promise((resolve) => setImmediate(resolve));
      expect(info.format).toBe('original');
      expect(events[0]).toEqual({ phase: 'config', progress: 0 });
      expect(events.some((e) => e.phase === 'weights')).toBe(true);
      expect(events.at(-1)).toEqual({ phase: 'ready', progress: 1 });
      for (let i = 1; i < events.length; i += 1) expect(events[i]!.progress).toBeGreaterThanOrEqual(events[i - 1]!.progress);
      expect(info.parameterCount).toBeGreaterThan(0);
      expect(info.loadSeconds).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });

  it('keeps the event loop free while native work runs', async () => {
    const engine = newEngine();
    try {
      // If load ran on the JS thread, no timer could fire before its Promise settled: the
      // continuation after `await` runs as a microtask, before any timer.
      let ticks = 0;
      const timer = setInterval(() => (ticks += 1), 1);
      const started = performance.now();
      await engine.load(tinyOriginalDir); // ~70 MB of F32 shards, split tensors to merge
      const elapsed = performance.now() - started;
      clearInterval(timer);
      expect(elapsed).toBeGreaterThan(5);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });

  it('runs queued calls in order on its one thread', async () => {
    const engine = newEngine();
    try {
      await engine.load(tinyHfDir);
      const prompt = mixedPrompt(false);
      const n = prompt.inputIds.length;
      // Issued without awaiting: the decode step must see the prefill's cache.
      const prefill = engine.forward(toForwardRequest(prompt, 0, n - 1));
      const step = engine.forward(toForwardRequest(prompt, n - 1, n));
      const [, stepResult] = await Promise.all([prefill, step]);
      const whole = await engine.forward(toForwardRequest(prompt));
      expect(Buffer.from(stepResult.audioLogits.buffer).length).toBe(8 * 1026 * 4);
      let maxDiff = 0;
      for (let i = 0; i < whole.audioLogits.length; i += 1) {
        maxDiff = Math.max(maxDiff, Math.abs(whole.audioLogits[i]! - stepResult.audioLogits[i]!));
      }
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await engine.dispose();
    }
  });

  it('rejects bad arguments with E_INPUT and keeps serving', async () => {
    const engine = newEngine();
    try {
      await engine.load(tinyHfDir);
      const bad = [
        { inputIds: [1, 2, 3], audioMask: new Uint8Array(3) },
        { inputIds: new Int32Array([1, 2]), audioMask: new Uint8Array(3) },
        { inputIds: new Int32Array([1]), audioMask: new Uint8Array(1), startPos: -1 },
        { inputIds: new Int32Array([1]), audioMask: new Uint8Array(1), logits: 'middle' },
        { inputIds: new Int32Array([1]), audioMask: Uint8Array.of(1), audioCodes: new Int32Array(7) },
        { inputIds: new Int32Array([1]), audioMask: new Uint8Array(1), startPos: 5 },
      ];
      for (const request of bad) {
        const error = await Promise.resolve()
          .then(() => engine.forward(request as never))
          .then(() => null, (e: { code?: string }) => e);
        expect(error, JSON.stringify(request)).not.toBeNull();
        expect(error!.code, JSON.stringify(request)).toBe('E_INPUT');
      }
      const ok = await engine.forward({ inputIds: Int32Array.of(128000), audioMask: new Uint8Array(1) });
      expect(ok.audioLogits.length).toBe(8 * 1026);
    } finally {
      await engine.dispose();
    }
  });

  it('after dispose every call is E_NOT_LOADED; before load forward is E_NOT_LOADED', async () => {
    const engine = newEngine();
    await expect(engine.forward({ inputIds: Int32Array.of(1), audioMask: new Uint8Array(1) })).rejects.toMatchObject({
      code: 'E_NOT_LOADED',
    });
    expect(engine.info()).toBeNull();
    await engine.dispose();
    await engine.dispose(); // idempotent
    expect(() => engine.forward({ inputIds: Int32Array.of(1), audioMask: new Uint8Array(1) })).toThrow(
      expect.objectContaining({ code: 'E_NOT_LOADED' }),
    );
    expect(engine.info()).toBeNull();
  });

  it('reports an unknown device or dtype as E_INPUT at load', async () => {
    const engine = newEngine({ dtype: 'int4' });
    try {
      await expect(engine.load(tinyHfDir)).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('dtype') });
    } finally {
      await engine.dispose();
    }
  });

  it('takes every EngineOptions field and reports the whole ModelInfo', async () => {
    // decode "static" on the CPU: the device-resident step without graphs, its buckets reported.
    const engine = newEngine({ decode: 'static', fusedKernels: false, nextKernels: false, threads: 1 });
    try {
      const info = await engine.load(tinyHfDir);
      expect(info.decode).toBe('static');
      expect(info.kvBuckets.length).toBeGreaterThan(0);
      expect(info.kvBuckets.at(-1)).toBe(info.maxContext);
      expect(info.fusedKernels).toBe(false); // never on the CPU, and switched off here
      expect(info.graphCaptureSeconds).toBe(0);
      expect(info.intermediateSize).toBeGreaterThan(info.hiddenSize);
      expect(info.slots).toBe(1);
      expect(info.rowBuckets).toEqual([]); // one slot: the one-row runner
      expect(engine.info()).toEqual(info);
    } finally {
      await engine.dispose();
    }
    // Several slots with static decode: the device batch, its row buckets reported.
    const rows = newEngine({ decode: 'static', slots: 5, batching: 'fast' });
    try {
      const info = await rows.load(tinyHfDir);
      expect(info).toMatchObject({ decode: 'static', slots: 5, batching: 'fast', rowBuckets: [1, 2, 4, 5] });
      expect(info.kvBuckets.at(-1)).toBe(info.maxContext);
    } finally {
      await rows.dispose();
    }
    const eager = newEngine({ decode: 'eager' });
    try {
      const info = await eager.load(tinyHfDir);
      expect(info.decode).toBe('eager');
      expect(info.kvBuckets).toEqual([]);
      expect(info.rowBuckets).toEqual([]);
    } finally {
      await eager.dispose();
    }
  });

  it('refuses an option of the wrong type at construction, naming it', () => {
    const { Engine } = loadNative();
    expect(() => new Engine({ fusedKernels: 'no' as unknown as boolean })).toThrow('Engine options: fusedKernels must be a boolean');
    expect(() => new Engine({ maxContext: 1.5 })).toThrow('Engine options: maxContext must be a safe integer');
    expect(() => new Engine({ decode: 7 as unknown as 'eager' })).toThrow('Engine options: decode must be a string');
  });

  it('takes an onLog function after the options, refuses anything else there, and works with it', async () => {
    const { Engine } = loadNative();
    expect(() => new Engine({}, 'log' as unknown as () => void)).toThrow(expect.objectContaining({ code: 'E_INPUT', message: 'Engine: onLog must be a function' }));
    const engine = new Engine({ maxContext: 256 }, () => undefined);
    try {
      await engine.load(tinyHfDir);
      const out = await engine.forward(toForwardRequest(mixedPrompt(false)));
      expect(out.audioLogits.length).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });

  it('does not keep the process alive for its onLog callback', () => {
    const addon = addonCandidates().find((path) => existsSync(path))!;
    const script = 'const { Engine } = require(process.argv[1]); globalThis.engine = new Engine({}, () => {});';
    const run = spawnSync(process.execPath, ['-e', script, addon], { encoding: 'utf8', timeout: 30_000 });
    expect(run.error).toBeUndefined(); // not killed by the timeout
    expect(run.status).toBe(0);
  });

  it('rejects a KV cache without positions at load, as the core\'s bound (engine.h)', async () => {
    for (const maxContext of [0, -5]) {
      const engine = newEngine({ maxContext });
      try {
        await expect(engine.load(tinyHfDir)).rejects.toMatchObject({ code: 'E_INPUT', message: `max_context must be at least 1 (got ${maxContext})` });
      } finally {
        await engine.dispose();
      }
    }
  });
});
