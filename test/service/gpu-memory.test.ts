// GPU memory policy: the cache-release rule, and the addon's memory calls on a CPU engine (null
// numbers, release a no-op).
import { describe, expect, it } from 'vitest';
import { GpuCacheReleaser } from '../../lib/service/gpu-memory.js';
import { createLogger } from '../../lib/common/log.js';
import { loadNative, type GpuMemory } from '../../lib/native/loader.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/**
 * A stand-in for a CUDA engine's two memory calls (no GPU here): reserved bytes the test sets,
 * and a release that drops them to what is allocated, as the caching allocator does.
 */
class FakeGpu {
  memory: GpuMemory = { allocated: 8 * GIB, reserved: 8 * GIB, peakAllocated: 8 * GIB, free: 10 * GIB, total: 24 * GIB };
  releases = 0;
  gpuMemory = (): GpuMemory | null => ({ ...this.memory });
  releaseCachedMemory = async (): Promise<void> => {
    this.releases += 1;
    this.memory = { ...this.memory, free: this.memory.free + this.memory.reserved - this.memory.allocated, reserved: this.memory.allocated };
  };
  grow(bytes: number): void {
    this.memory = { ...this.memory, reserved: this.memory.reserved + bytes, free: this.memory.free - bytes };
  }
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { lines, log };
}

describe('GpuCacheReleaser', () => {
  it('releases once the engine is idle and the cache grew beyond the threshold, logging the bytes', async () => {
    const gpu = new FakeGpu();
    const { lines, log } = capture();
    const releaser = new GpuCacheReleaser(gpu, 1024 * MIB, log);
    gpu.grow(1024 * MIB); // exactly the threshold: kept
    await releaser.afterRequest(false);
    expect(gpu.releases).toBe(0);
    gpu.grow(512 * MIB);
    await releaser.afterRequest(true); // another request still runs: later
    expect(gpu.releases).toBe(0);
    await releaser.afterRequest(false);
    expect(gpu.releases).toBe(1);
    expect(gpu.memory.reserved).toBe(8 * GIB);
    const record = lines.find((l) => l.event === 'gpu.release');
    expect(record).toMatchObject({ level: 'DEBUG', released: 1536 * MIB, reservedBefore: 8 * GIB + 1536 * MIB, reservedAfter: 8 * GIB });
  });

  it('measures from the floor after the last release, so memory it cannot free never re-triggers it', async () => {
    const gpu = new FakeGpu();
    const releaser = new GpuCacheReleaser(gpu, 100 * MIB, capture().log);
    gpu.grow(GIB);
    gpu.memory.allocated += 512 * MIB; // e.g. a CUDA graph pool captured by the first request
    await releaser.afterRequest(false);
    expect(gpu.releases).toBe(1);
    for (let i = 0; i < 3; i += 1) await releaser.afterRequest(false);
    expect(gpu.releases).toBe(1);
    gpu.grow(101 * MIB);
    await releaser.afterRequest(false);
    expect(gpu.releases).toBe(2);
  });

  it('never calls release for a CPU engine (the real addon, no model)', async () => {
    const engine = new (loadNative().Engine)({ device: 'cpu' });
    let calls = 0;
    const counted = { gpuMemory: () => engine.gpuMemory(), releaseCachedMemory: () => ((calls += 1), engine.releaseCachedMemory()) };
    const releaser = new GpuCacheReleaser(counted, 0, capture().log);
    await releaser.afterRequest(false);
    expect(calls).toBe(0);
    await engine.dispose();
  });
});

describe('native Engine memory calls on the CPU', () => {
  it('gpuMemory is null, resetPeakGpuMemory and releaseCachedMemory are no-ops', async () => {
    const engine = new (loadNative().Engine)({ device: 'cpu' });
    expect(engine.gpuMemory()).toBeNull();
    expect(engine.resetPeakGpuMemory()).toBeUndefined();
    await expect(engine.releaseCachedMemory()).resolves.toBeUndefined();
    await engine.dispose();
    expect(engine.gpuMemory()).toBeNull();
    expect(() => engine.releaseCachedMemory()).toThrow(expect.objectContaining({ code: 'E_NOT_LOADED' }));
  });
});
