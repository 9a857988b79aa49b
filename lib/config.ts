/** Environment configuration, read in one place. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './native.js';

/** The RunPod network-volume layout of the deployment guide. */
export const RUNPOD_ROOT = '/runpod-volume/higgs_audio';
export const RUNPOD_MODEL_DIR = `${RUNPOD_ROOT}/bosonai/higgs-audio-v2-generation-3B-base`;
export const RUNPOD_CODEC_DIR = `${RUNPOD_ROOT}/bosonai/higgs-audio-v2-tokenizer`;
export const RUNPOD_VOICES_DIR = `${RUNPOD_ROOT}/voice_prompts`;

export interface ResolvedPath {
  dir: string;
  source: string;
}

function pick(env: NodeJS.ProcessEnv, variable: string, runpod: string, marker: string, bundled: () => string, bundledName: string): ResolvedPath {
  const fromEnv = env[variable];
  if (fromEnv) return { dir: fromEnv, source: variable };
  if (existsSync(join(runpod, marker))) return { dir: runpod, source: 'RunPod volume' };
  return { dir: bundled(), source: bundledName };
}

/**
 * The LM to serve: HIGGS_MODEL_DIR if set, else the RunPod volume path if it exists, else the
 * bundled tiny random model (test/fixtures/tiny/hf, made by `npm run fixtures`): noise only.
 */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): ResolvedPath {
  return pick(env, 'HIGGS_MODEL_DIR', RUNPOD_MODEL_DIR, 'config.json', () => join(packageRoot(), 'test', 'fixtures', 'tiny', 'hf'), 'bundled tiny random model');
}

/**
 * The audio codec: HIGGS_CODEC_DIR, else the RunPod volume path, else the tiny random codec of
 * the transformers goldens (test/fixtures/goldens/codec): noise only.
 */
export function defaultCodecDir(env: NodeJS.ProcessEnv = process.env): ResolvedPath {
  return pick(env, 'HIGGS_CODEC_DIR', RUNPOD_CODEC_DIR, 'config.json', () => join(packageRoot(), 'test', 'fixtures', 'goldens', 'codec'), 'bundled tiny random codec');
}
