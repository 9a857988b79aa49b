/**
 * The per-user pull cache: where `higgs-audio pull` puts repositories without --to, and where
 * loadConfig looks for them. Its root is HIGGS_CACHE_DIR, else $XDG_CACHE_HOME/higgs-audio, else
 * ~/.cache/higgs-audio (lib/common/user-dirs.ts); each repository sits below it as <owner>/<name>.
 */
import { userDir } from '../common/user-dirs.js';
import { CODEC_REPO, MODEL_REPO, repoDir } from './repos.js';

export const CACHE_DIR_VARIABLE = 'HIGGS_CACHE_DIR';

/** The cache root for `env`, or null when the environment names no home at all. */
export function pullCacheRoot(env: NodeJS.ProcessEnv): string | null {
  return userDir(env, { own: CACHE_DIR_VARIABLE, xdg: 'XDG_CACHE_HOME', homeDefault: ['.cache'] });
}

/** Where the default model and codec repositories land in the cache (they may not exist). */
export function pullCacheDirs(env: NodeJS.ProcessEnv): { modelDir: string; codecDir: string } | null {
  const root = pullCacheRoot(env);
  return root === null ? null : { modelDir: repoDir(root, MODEL_REPO), codecDir: repoDir(root, CODEC_REPO) };
}
