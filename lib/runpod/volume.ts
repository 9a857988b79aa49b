/**
 * The RunPod network-volume layout of the deployment guide: where the worker finds the model,
 * the codec and the preset voices when the environment does not name them. The RunPod modes
 * (worker, serve) and the CLI pass it to loadConfig; the library itself knows no volume
 * (docs/architecture.md#configuration, docs/runpod-protocol.md#platform-facts).
 */
import { join } from 'node:path';
import type { VolumeDirs } from '../config/load-config.js';
import { CODEC_REPO, MODEL_REPO, repoDir } from '../hub/repos.js';

export const RUNPOD_VOLUME_ROOT = '/runpod-volume/higgs_audio';

/** The layout under `root` (tests point it elsewhere): `higgs-audio pull --to ROOT` fills it. */
export function runpodVolume(root: string = RUNPOD_VOLUME_ROOT): VolumeDirs {
  return {
    modelDir: repoDir(root, MODEL_REPO),
    codecDir: repoDir(root, CODEC_REPO),
    voicesDir: join(root, 'voice_prompts'),
  };
}
