/**
 * What the fitness checks (fitness.ts) learn about the GPU without new native code: the driver
 * (nvidia-smi: its version, the newest CUDA it supports, free memory per GPU) and the bytes the
 * checkpoint's weights take in the engine dtype (safetensors headers). The build's own CUDA
 * version comes from the addon's buildInfo() when the addon has one.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface GpuProbe {
  /** e.g. "550.54.15"; null when not reported. */
  driverVersion: string | null;
  /** The newest CUDA the driver supports ("CUDA Version: 12.4" of nvidia-smi), as [major, minor]. */
  driverCuda: [number, number] | null;
  gpus: { index: number; uuid: string; freeBytes: number }[];
}

/** nvidia-smi's answer, or null when it is not installed or fails (no driver). */
export function probeNvidiaSmi(): GpuProbe | null {
  try {
    const run = (args: string[]) => execFileSync('nvidia-smi', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return parseNvidiaSmi(run([]), run(['--query-gpu=index,uuid,memory.free,driver_version', '--format=csv,noheader,nounits']));
  } catch {
    return null;
  }
}

/** `banner`: plain nvidia-smi output; `query`: index, uuid, memory.free (MiB), driver_version as CSV. */
export function parseNvidiaSmi(banner: string, query: string): GpuProbe {
  const cuda = /CUDA Version:\s*(\d+)\.(\d+)/.exec(banner);
  const gpus: GpuProbe['gpus'] = [];
  let driverVersion: string | null = null;
  for (const line of query.split('\n')) {
    const [index, uuid, free, driver] = line.split(',').map((field) => field.trim());
    if (!index || !/^\d+$/.test(index) || !free || !/^\d+$/.test(free)) continue;
    gpus.push({ index: Number(index), uuid: uuid ?? '', freeBytes: Number(free) * 1024 * 1024 });
    driverVersion ??= driver || null;
  }
  return { driverVersion, driverCuda: cuda ? [Number(cuda[1]), Number(cuda[2])] : null, gpus };
}

/** The GPU a `cuda` / `cuda:N` device means, through CUDA_VISIBLE_DEVICES (indices or UUIDs) as CUDA numbers them. */
export function pickGpu(probe: GpuProbe, device: string, visible: string | undefined): GpuProbe['gpus'][number] | null {
  const ordinal = device.includes(':') ? Number(device.split(':')[1]) : 0;
  const list = visible?.trim() ? visible.split(',').map((entry) => entry.trim()) : null;
  if (list === null) return probe.gpus.find((gpu) => gpu.index === ordinal) ?? null;
  const wanted = list[ordinal];
  if (wanted === undefined) return null;
  return probe.gpus.find((gpu) => (/^\d+$/.test(wanted) ? gpu.index === Number(wanted) : gpu.uuid.startsWith(wanted))) ?? null;
}

/** "12.4", 12040 (cudaRuntimeGetVersion's encoding) or [12, 4] -> [major, minor]; null otherwise. */
export function cudaVersion(value: unknown): [number, number] | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1000) return [Math.floor(value / 1000), Math.floor((value % 1000) / 10)];
  if (typeof value === 'string') {
    const match = /^(\d+)\.(\d+)/.exec(value.trim());
    return match ? [Number(match[1]), Number(match[2])] : null;
  }
  return null;
}

const STORED_BYTES: Record<string, number> = { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };
const DTYPE_BYTES: Record<string, number> = { float32: 4, bfloat16: 2, float16: 2 };

/**
 * Bytes of every floating-point tensor of the directory's safetensors files once converted to
 * `dtype` (integer tensors as stored): an upper bound of what the engine puts on the device.
 */
export function weightsBytes(dir: string, dtype: string): number {
  const target = DTYPE_BYTES[dtype] ?? 4;
  let total = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.safetensors'))) {
    for (const tensor of Object.values(readHeader(join(dir, file)))) {
      if (typeof tensor !== 'object' || tensor === null || !('shape' in tensor)) continue; // __metadata__
      const { dtype: stored, shape } = tensor as { dtype: string; shape: number[] };
      const numel = shape.reduce((a, b) => a * b, 1);
      total += numel * (stored.startsWith('F') || stored === 'BF16' ? target : (STORED_BYTES[stored] ?? 4));
    }
  }
  return total;
}

function readHeader(path: string): Record<string, unknown> {
  const fd = openSync(path, 'r');
  try {
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const length = Number(prefix.readBigUInt64LE(0));
    if (length > 100 * 1024 * 1024) throw new Error(`${path}: not a safetensors file (header of ${length} bytes)`);
    const header = Buffer.alloc(length);
    readSync(fd, header, 0, length, 8);
    return JSON.parse(header.toString('utf8')) as Record<string, unknown>;
  } finally {
    closeSync(fd);
  }
}
