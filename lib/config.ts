/** Environment configuration, read in one place. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './native.js';

/** The RunPod network-volume layout the deployment guide uses. */
export const RUNPOD_MODEL_DIR = '/runpod-volume/higgs_audio/higgs-audio-v2-generation-3B-base';

/**
 * The model to serve: HIGGS_MODEL_DIR if set, else the RunPod volume path if it exists, else the
 * bundled tiny random model (test/fixtures/tiny/hf, created by `npm run fixtures`), which can
 * only make noise.
 */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): { dir: string; source: string } {
  if (env.HIGGS_MODEL_DIR) return { dir: env.HIGGS_MODEL_DIR, source: 'HIGGS_MODEL_DIR' };
  if (existsSync(join(RUNPOD_MODEL_DIR, 'config.json'))) return { dir: RUNPOD_MODEL_DIR, source: 'RunPod volume' };
  return { dir: join(packageRoot(), 'test', 'fixtures', 'tiny', 'hf'), source: 'bundled tiny random model' };
}
