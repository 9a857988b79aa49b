/**
 * The Hub repositories the engine serves, and where a repository's files go below a root. One
 * source for both: `higgs-audio pull`'s defaults, the pull cache and the RunPod volume layout
 * (lib/runpod/volume.ts) all lay repositories out as ROOT/<owner>/<name>.
 */
import { join } from 'node:path';

/** The generation LM (docs/model.md). */
export const MODEL_REPO = 'bosonai/higgs-audio-v2-generation-3B-base';
/** Its audio codec ("audio tokenizer"). */
export const CODEC_REPO = 'bosonai/higgs-audio-v2-tokenizer';
/** What `higgs-audio pull` fetches when no repository is named. */
export const DEFAULT_REPOS: readonly string[] = [MODEL_REPO, CODEC_REPO];

// The Hub's own rule for owner and name: letters, digits, '-', '_' and '.', at most 96 each.
const PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}$/;

/** "owner/name", whose parts are safe to use as folder names (no '..', no separators). */
export function isRepoId(text: string): boolean {
  const parts = text.split('/');
  return parts.length === 2 && parts.every((part) => PART.test(part) && !part.includes('..'));
}

/** ROOT/<owner>/<name>: the folder a repository's files land in. */
export function repoDir(root: string, repo: string): string {
  return join(root, ...repo.split('/'));
}
