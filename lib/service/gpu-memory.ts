/**
 * GPU memory policy: the concurrency default derived from the memory left after the model
 * loaded, and giving the CUDA allocator's cache back after requests that grew it. Nothing here
 * runs on a CPU engine: its gpuMemory() is null.
 */
import type { Logger } from '../common/log.js';
import type { GpuMemory, NativeEngine } from '../native/loader.js';

const GIB = 1024 ** 3;

/**
 * Left unused by the derivation: the CUDA context and cuBLAS workspaces grow after load, CUDA
 * graphs are captured per KV bucket on first use, and the allocator fragments.
 */
export const GPU_RESERVE_BYTES = 2 * GIB;

/**
 * One request's working memory on the GPU. The KV cache and the weights are preallocated per
 * engine at load, so a request adds mainly activations: the codec decode of its longest chunk
 * (fp32 DAC decoder, up to 2048 frames = 82 s; its last upsampling stages hold ~60M samples x a
 * few live tensors, about 1 GiB) plus the prefill of a prompt with a reference voice (~2k
 * tokens: MLP and attention activations, ~0.5 GiB).
 */
export const REQUEST_WORKING_BYTES = 1.5 * GIB;

/** Beyond this, requests only queue inside the engine's one thread: latency without throughput. */
export const MAX_DERIVED_CONCURRENCY = 16;

/** Bytes a request can still get: the driver's free memory plus the allocator's unused cache. */
export function availableGpuBytes(memory: Pick<GpuMemory, 'free' | 'reserved' | 'allocated'>): number {
  return memory.free + Math.max(0, memory.reserved - memory.allocated);
}

/** floor((available - reserve) / perRequest), clamped to [1, MAX_DERIVED_CONCURRENCY]. */
export function deriveMaxConcurrency(availableBytes: number, reserveBytes = GPU_RESERVE_BYTES, perRequestBytes = REQUEST_WORKING_BYTES): number {
  const fits = Math.floor((availableBytes - reserveBytes) / perRequestBytes);
  if (Number.isNaN(fits)) return 1; // unknown memory: the safe minimum
  return Math.min(MAX_DERIVED_CONCURRENCY, Math.max(1, fits));
}

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
