/**
 * Per-user folders as the XDG base-directory spec places them: a variable of our own first, else
 * $XDG_<KIND>_HOME/higgs-audio (absolute values only, as the spec says), else the spec's default
 * below HOME (USERPROFILE on Windows). Only the given environment is read (never os.homedir()),
 * so a caller that passes an environment without these variables, tests among them, gets null.
 */
import { isAbsolute, join, resolve } from 'node:path';

export interface UserDirKind {
  /** Our variable that names the folder itself, e.g. HIGGS_CACHE_DIR. */
  own: string;
  /** The XDG variable, e.g. XDG_CACHE_HOME. */
  xdg: string;
  /** Its default below HOME, e.g. ['.cache']. */
  homeDefault: readonly string[];
}

export function userDir(env: NodeJS.ProcessEnv, kind: UserDirKind): string | null {
  const set = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined; // "" means unset, as in Docker and RunPod templates
  };
  const own = set(kind.own);
  if (own !== undefined) return resolve(own);
  const xdg = set(kind.xdg);
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'higgs-audio');
  const home = set('HOME') ?? set('USERPROFILE');
  return home === undefined ? null : join(resolve(home), ...kind.homeDefault, 'higgs-audio');
}
