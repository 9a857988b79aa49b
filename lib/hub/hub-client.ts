/**
 * The Hub's metadata, through its own JS client (@huggingface/hub): the commit a revision
 * resolves to (GET /api/models/{repo}/revision/{rev}) and the repository's files at that commit
 * (GET /api/models/{repo}/tree/{commit}?recursive=true, paged by Link headers), with sizes, git
 * blob ids and, for LFS files, the sha256 of the content. Listing by the commit, not the
 * branch, keeps every later request on one revision. The client gets our fetch: it adds
 * HF_TOKEN and turns an unsuccessful answer into the error `pull` reports (lib/hub/hub-errors.ts).
 */
import { listFiles, modelInfo } from '@huggingface/hub';
import type { HubSettings } from './hub-settings.js';
import { HubError, networkError, statusError, type HubContext } from './hub-errors.js';
import type { RepoFile } from './select-files.js';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from './retry.js';

export interface HubCallOptions {
  signal?: AbortSignal;
  retry?: RetryPolicy;
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/** The commit sha `revision` (a branch, tag or sha) names in `repo`. */
export async function resolveCommit(hub: HubSettings, repo: string, revision: string, options: HubCallOptions = {}): Promise<string> {
  const context: HubContext = { endpoint: hub.endpoint, repo, revision, tokenSent: hub.token !== undefined };
  const info = await withRetries(
    () => modelInfo({ name: repo, revision, hubUrl: hub.endpoint, additionalFields: ['sha'], fetch: hubFetch(hub, context, options.signal) }),
    options.retry ?? DEFAULT_RETRY,
    options,
  );
  if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha)) {
    throw new HubError('E_DOWNLOAD', `${hub.endpoint} gave no commit sha for ${repo}@${revision}: there is nothing to pin the download to`);
  }
  return info.sha;
}

/** Every file of `repo` at `commit` (directories left out). */
export async function listRepoFiles(hub: HubSettings, repo: string, commit: string, options: HubCallOptions = {}): Promise<RepoFile[]> {
  const context: HubContext = { endpoint: hub.endpoint, repo, revision: commit, tokenSent: hub.token !== undefined };
  return withRetries(
    async () => {
      const files: RepoFile[] = [];
      const entries = listFiles({ repo: { type: 'model', name: repo }, revision: commit, recursive: true, hubUrl: hub.endpoint, fetch: hubFetch(hub, context, options.signal) });
      for await (const entry of entries) {
        if (entry.type !== 'file') continue;
        files.push({
          path: entry.path,
          size: entry.lfs?.size ?? entry.size,
          // A Xet-stored file without LFS fields would list its pointer's blob id: then the size is all there is to check.
          ...(entry.lfs ? { sha256: entry.lfs.oid } : entry.oid && !entry.xetHash ? { gitOid: entry.oid } : {}),
        });
      }
      return files;
    },
    options.retry ?? DEFAULT_RETRY,
    options,
  );
}

/** fetch for the client: the token on every request, our errors for every failure. */
function hubFetch(hub: HubSettings, context: HubContext, signal: AbortSignal | undefined): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (hub.token) headers.set('authorization', `Bearer ${hub.token}`);
    let response: Response;
    try {
      response = await fetch(input, { ...init, headers, signal });
    } catch (error) {
      throw networkError(error, context);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw statusError(response, context);
    }
    return response;
  };
}
