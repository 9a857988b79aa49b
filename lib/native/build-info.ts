/**
 * What is running: the package version and, from the addon itself, what it was built with. Shown
 * by `higgs-audio --version` and in health() (the /health routes). The addon's facts are fixed
 * when it is compiled (CMakeLists.txt -> native/core/engine build_info()).
 */
import { packageVersion } from '../common/package-root.js';
import { loadNative } from './loader.js';

export interface BuildInfo {
  /** The npm package's version (package.json). */
  version: string;
  /** The addon's ABI version (its constants.abiVersion; the loader accepts only EXPECTED_ABI); null when no addon loads. */
  abi: number | null;
  /** The libtorch the addon was compiled against, e.g. "2.13.0"; null when no addon loads. */
  torchVersion: string | null;
  /** The CUDA runtime the addon was compiled against, e.g. "13.0", or "cpu"; null when no addon loads. */
  cudaVersion: string | null;
  /** The fused kernels' GPU code, e.g. "sm_90 compute_90", or "cpu" ("none": CUDA without them); null when no addon loads. */
  kernelArchs: string | null;
  /** Why no addon loads (the loader's first line and the first path's reason); absent when one does. */
  addonError?: string;
}

/** Loads the addon (once per process) to ask it; never throws for a missing addon. */
export function buildInfo(load: typeof loadNative = loadNative): BuildInfo {
  const version = packageVersion();
  try {
    const native = load();
    const { torchVersion, cudaVersion, kernelArchs } = native.buildInfo();
    return { version, abi: native.constants.abiVersion, torchVersion, cudaVersion, kernelArchs };
  } catch (error) {
    const lines = (error as Error).message.split('\n');
    const reason = lines.find((l) => l.startsWith('  - '))?.trim().slice(2);
    return { version, abi: null, torchVersion: null, cudaVersion: null, kernelArchs: null, addonError: reason ? `${lines[0]} ${reason}` : lines[0]! };
  }
}
