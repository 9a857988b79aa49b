/**
 * Giving the CUDA allocator's cache back after requests that grew it. Nothing here runs on a CPU
 * engine: its gpuMemory() is null. (How many requests run at once is the engine's slots, sized
 * by the engine itself from the memory left after the weights: native/core/engine/slot_memory.h.)
 */
import type { Logger } from '../common/log.js';
import type { NativeEngine } from '../native/loader.js';

type MemoryEngine = Pick<NativeEngine, 'gpuMemory' | 'releaseCachedMemory'>;

/**
 * Releases the allocator's cache when the engine is idle and its reserved bytes exceed the floor
 * by more than the threshold. The floor is the reserved level after load, then after each
 * release: what a release cannot free (weights, KV cache, graph pools) never triggers another.
 */
export class GpuCacheReleaser {
  private floor: number | null;
  private releasing = false;

  constructor(
    private readonly engine: MemoryEngine,
    private readonly thresholdBytes: number,
    private readonly log: Logger,
  ) {
    this.floor = engine.gpuMemory()?.reserved ?? null; // null on the CPU: never releases
  }

  /** Call after a request ended, with whether any other request is still running. */
  async afterRequest(othersActive: boolean): Promise<void> {
    if (this.floor === null || othersActive || this.releasing) return;
    const before = this.engine.gpuMemory();
    if (!before || before.reserved - this.floor <= this.thresholdBytes) return;
    this.releasing = true;
    try {
      await this.engine.releaseCachedMemory();
      const after = this.engine.gpuMemory();
      if (!after) return; // disposed meanwhile
      this.floor = after.reserved;
      this.log.debug(
        { event: 'gpu.release', released: before.reserved - after.reserved, reservedBefore: before.reserved, reservedAfter: after.reserved, allocated: after.allocated },
        'released cached GPU memory',
      );
    } catch (error) {
      this.log.warn({ event: 'gpu.release.failed' }, (error as Error).message);
    } finally {
      this.releasing = false;
    }
  }
}
