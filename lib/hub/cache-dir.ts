/**
 * The per-user pull cache: where `higgs-audio pull` puts repositories without --to, and where
 * loadConfig looks for them. Its root is HIGGS_CACHE_DIR, else $XDG_CACHE_HOME/higgs-audio
 * (an absolute XDG_CACHE_HOME only, as the XDG spec says), else ~/.cache/higgs-audio from HOME
 * (USERPROFILE on Windows); each repository sits below it as <owner>/<name>. Only the given
 * environment is read (never os.homedir()), so a caller that passes an environment without
 * these variables, tests among them, sees no cache at all.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { CODEC_REPO, MODEL_REPO, repoDir } from './repos.js';

export const CACHE_DIR_VARIABLE = 'HIGGS_CACHE_DIR';

/** The cache root for `env`, or null when the environment names no home at all. */
export function pullCacheRoot(env: NodeJS.ProcessEnv): string | null {
  const set = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined; // "" means unset, as in Docker and RunPod templates
  };
  const own = set(CACHE_DIR_VARIABLE);
  if (own !== undefined) return resolve(own);
  const xdg = set('XDG_CACHE_HOME');
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'higgs-audio');
  const home = set('HOME') ?? set('USERPROFILE');
  return home === undefined ? null : join(resolve(home), '.cache', 'higgs-audio');
}

/** Where the default model and codec repositories land in the cache (they may not exist). */
export function pullCacheDirs(env: NodeJS.ProcessEnv): { modelDir: string; codecDir: string } | null {
  const root = pullCacheRoot(env);
  return root === null ? null : { modelDir: repoDir(root, MODEL_REPO), codecDir: repoDir(root, CODEC_REPO) };
}
