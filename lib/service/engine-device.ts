/**
 * The device and dtype an engine is created with: HIGGS_DEVICE=auto and HIGGS_DTYPE=auto are
 * resolved here, where the service has the addon loaded anyway, so reading the configuration
 * never loads libtorch. The dtype decision itself is chooseCpuDtype, a pure function of the facts
 * the addon reports (hostInfo, planLoad), so its table is tested without depending on the host.
 */
import type { Dtype, HiggsConfig } from '../config/load-config.js';
import type { EngineOptions, NativeBinding } from '../native/addon-types.js';

export interface EngineDevice {
  device: string;
  dtype: Dtype;
  /** Why this dtype (logged with load.start). */
  dtypeReason: string;
}

/** What HIGGS_DTYPE=auto on the CPU decides on. */
export interface CpuDtypeFacts {
  /** The checkpoint's tensors as stored (LoadPlan.checkpointDtype). */
  checkpointDtype: string;
  /** What a float32 load would need: weights, KV caches and reserve (LoadPlan.neededBytes). */
  float32NeededBytes: number;
  /** Bytes the machine has available; 0 = unknown. */
  availableBytes: number;
  /** The CPU has native bf16 dot products (AVX512-BF16 or AMX-BF16). */
  cpuBf16: boolean;
}

const GIB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(1)} GiB`;

/**
 * float32 is exact (same audio as the GPU's fp32 path); a bf16 checkpoint is loaded as bf16 when
 * the CPU computes bf16 natively (faster, half the memory) or when float32 would not fit. Other
 * checkpoints stay float32 (a load that cannot fit then fails with E_OOM, naming the bytes).
 */
export function chooseCpuDtype(facts: CpuDtypeFacts): { dtype: Dtype; reason: string } {
  if (facts.checkpointDtype !== 'bfloat16') {
    return { dtype: 'float32', reason: `the checkpoint is ${facts.checkpointDtype}, not bfloat16: float32 on the CPU` };
  }
  if (facts.cpuBf16) {
    return { dtype: 'bfloat16', reason: 'bfloat16 checkpoint and the CPU has native bf16 dot products (AVX512-BF16/AMX)' };
  }
  if (facts.availableBytes > 0 && facts.float32NeededBytes > facts.availableBytes) {
    return {
      dtype: 'bfloat16',
      reason: `bfloat16 checkpoint and float32 would need ${gib(facts.float32NeededBytes)} of the ${gib(facts.availableBytes)} available`,
    };
  }
  return { dtype: 'float32', reason: 'the CPU has no native bf16 dot products and float32 fits: float32 (exact)' };
}

type DeviceConfig = Pick<HiggsConfig, 'device' | 'dtype'>;
type DeviceBinding = Pick<NativeBinding, 'cudaAvailable'> & Partial<Pick<NativeBinding, 'hostInfo' | 'planLoad'>>;

/**
 * `load` is the model directory and the options the engine will load it with (without device
 * and dtype): with it, auto on the CPU is chooseCpuDtype's choice; without it, float32.
 */
export function resolveEngineDevice(
  config: DeviceConfig,
  binding: DeviceBinding,
  load?: { modelDir: string; options: Omit<EngineOptions, 'device' | 'dtype'> },
): EngineDevice {
  // auto: a GPU when the addon's libtorch has CUDA and sees one, else the CPU.
  const device = config.device === 'auto' ? (binding.cudaAvailable() ? 'cuda' : 'cpu') : config.device;
  if (config.dtype !== 'auto') return { device, dtype: config.dtype, dtypeReason: 'configured (HIGGS_DTYPE)' };
  // bf16 halves memory and is what the GPU kernels are tuned for.
  if (device.startsWith('cuda')) return { device, dtype: 'bfloat16', dtypeReason: 'auto on a GPU: bfloat16' };
  if (!load || !binding.hostInfo || !binding.planLoad) return { device, dtype: 'float32', dtypeReason: 'auto on the CPU: float32 (exact)' };
  const host = binding.hostInfo();
  const plan = binding.planLoad(load.modelDir, { ...load.options, device, dtype: 'float32' });
  const { dtype, reason } = chooseCpuDtype({
    checkpointDtype: plan.checkpointDtype,
    float32NeededBytes: plan.neededBytes,
    availableBytes: plan.availableBytes,
    cpuBf16: host.avx512Bf16 || host.amxBf16,
  });
  return { device, dtype, dtypeReason: `auto on the CPU: ${reason}` };
}
