/**
 * The device and dtype an engine is created with: HIGGS_DEVICE=auto and HIGGS_DTYPE=auto are
 * resolved here, where the service has the addon loaded anyway, so reading the configuration
 * never loads libtorch.
 */
import type { Dtype, HiggsConfig } from '../config/load-config.js';
import type { NativeBinding } from '../native/addon-types.js';

export interface EngineDevice {
  device: string;
  dtype: Dtype;
}

export function resolveEngineDevice(config: Pick<HiggsConfig, 'device' | 'dtype'>, binding: Pick<NativeBinding, 'cudaAvailable'>): EngineDevice {
  // auto: a GPU when the addon's libtorch has CUDA and sees one, else the CPU.
  const device = config.device === 'auto' ? (binding.cudaAvailable() ? 'cuda' : 'cpu') : config.device;
  // bf16 halves memory and is what the GPU kernels are tuned for; the CPU path is exact in fp32.
  const dtype = config.dtype === 'auto' ? (device.startsWith('cuda') ? 'bfloat16' : 'float32') : config.dtype;
  return { device, dtype };
}
