/**
 * One file of a pinned commit, from /{repo}/resolve/{commit}/{path} (the Hub answers LFS files
 * with a redirect to its CDN, which fetch follows; the token is not sent across origins).
 * Bytes are appended to `<file>.part` beside the target and hashed as they arrive. A dropped
 * connection is resumed with a Range request in the same run (lib/hub/retry.ts), and a partial
 * left by an earlier run is resumed on the next one. Size and digests are checked before an
 * atomic rename gives the file its name, so a file at its own name is always a whole, verified one.
 */
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentHash } from './content-hash.js';
import { diskFullError } from './disk-space.js';
import { HubError, networkError, statusError, type HubContext } from './hub-errors.js';
import type { HubSettings } from './hub-settings.js';
import { cancelled, retryDelay, sleep, type RetryPolicy } from './retry.js';
import type { RepoFile } from './select-files.js';

export interface DownloadOptions {
  hub: HubSettings;
  repo: string;
  commit: string;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Before the first request: `offset` bytes come from an earlier run's partial. */
  onStart?(offset: number): void;
  /** `delta` new bytes arrived; `have` of the file are on disk. */
  onBytes?(delta: number, have: number): void;
  onRetry?(attempt: number, delayMs: number, error: unknown): void;
}

/** Where a download in progress is kept. */
export const partPath = (target: string): string => `${target}.part`;

export function resolveUrl(hub: HubSettings, repo: string, commit: string, path: string): string {
  return `${hub.endpoint}/${repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

interface Progress {
  have: number;
  hash: ContentHash;
}

/**
 * Downloads `file` into `dir` and returns its sha256.
 * @throws HubError E_DOWNLOAD when retries are exhausted (the partial is kept) or the content
 *   does not verify (the partial is deleted); E_DISK_FULL; E_CANCELLED; E_INPUT / E_AUTH as the Hub says.
 */
export async function downloadFile(dir: string, file: RepoFile, options: DownloadOptions): Promise<string> {
  const target = join(dir, file.path);
  const part = partPath(target);
  const context: HubContext = { endpoint: options.hub.endpoint, repo: options.repo, revision: options.commit, path: file.path, tokenSent: options.hub.token !== undefined };
  const progress: Progress = { have: await sizeOf(part), hash: new ContentHash(file) };
  if (progress.have > file.size) await restart(part, progress);
  await progress.hash.updateFromFile(part, progress.have);
  options.onStart?.(progress.have);

  const resumed = progress.have > 0;
  let done = file.size > 0 && progress.have === file.size; // an earlier run got every byte but did not rename
  for (let failures = 0; !done; ) {
    const before = progress.have;
    try {
      await fetchInto(part, file, progress, context, options);
      done = true;
    } catch (error) {
      if (options.signal?.aborted) throw cancelled(`the download of ${file.path} (${progress.have} bytes kept in ${part})`);
      if (!(error instanceof HubError) || !error.retryable) throw error;
      failures = progress.have > before ? 1 : failures + 1; // a try that made progress starts the count again
      if (failures > options.retry.retries) {
        throw new HubError(
          'E_DOWNLOAD',
          `gave up on ${file.path} of ${options.repo} after ${options.retry.retries} retries (${error.message}); ` +
            `${progress.have} of ${file.size} bytes are kept in ${part}: run pull again to resume`,
          false,
          { cause: error },
        );
      }
      const delay = retryDelay(failures, options.retry);
      options.onRetry?.(failures, delay, error);
      await sleep(delay, options.signal);
    }
  }

  const result = progress.hash.check();
  if (result.mismatch !== undefined) {
    await rm(part, { force: true });
    // A partial from an earlier run may be what is wrong (another commit, a damaged disk): once more from zero.
    if (resumed) return downloadFile(dir, file, options);
    throw new HubError('E_DOWNLOAD', `${file.path} of ${options.repo}@${options.commit} does not verify (${result.mismatch}): the download was deleted; run pull again`);
  }
  await syncFile(part);
  await rename(part, target);
  return result.sha256;
}

/** One request from progress.have to the end, appended to the partial. */
async function fetchInto(part: string, file: RepoFile, progress: Progress, context: HubContext, options: DownloadOptions): Promise<void> {
  const headers = new Headers();
  if (options.hub.token) headers.set('authorization', `Bearer ${options.hub.token}`);
  if (progress.have > 0) headers.set('range', `bytes=${progress.have}-`);
  let response: Response;
  try {
    response = await fetch(resolveUrl(options.hub, options.repo, options.commit, file.path), { headers, signal: options.signal, redirect: 'follow' });
  } catch (error) {
    throw networkError(error, context);
  }
  if (response.status === 416 && progress.have > 0) {
    // The server has no bytes past our partial: it is not a prefix of this file.
    await response.body?.cancel().catch(() => undefined);
    await restart(part, progress);
    throw new HubError('E_DOWNLOAD', `the server refused to resume ${file.path}`, true);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw statusError(response, context);
  }
  if (progress.have > 0 && (response.status !== 206 || rangeStart(response) !== progress.have)) {
    if (response.status === 206) {
      await response.body?.cancel().catch(() => undefined);
      throw new HubError('E_DOWNLOAD', `the server answered a different range for ${file.path}`, true);
    }
    await restart(part, progress); // the server ignored Range: take the whole file again
  }

  const handle = await open(part, 'a');
  try {
    for await (const chunk of response.body ?? []) {
      const bytes = chunk as Uint8Array;
      if (progress.have + bytes.length > file.size) {
        await handle.close().catch(() => undefined);
        await rm(part, { force: true });
        throw new HubError('E_DOWNLOAD', `${file.path} of ${options.repo} is larger than the ${file.size} bytes the Hub lists: the download was deleted`);
      }
      await handle.write(bytes);
      progress.hash.update(bytes);
      progress.have += bytes.length;
      options.onBytes?.(bytes.length, progress.have);
    }
  } catch (error) {
    if (error instanceof HubError) throw error;
    if ((error as { code?: unknown } | null)?.code === 'ENOSPC') throw diskFullError(part, file.size - progress.have, error);
    throw networkError(error, context);
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (progress.have < file.size) throw new HubError('E_DOWNLOAD', `the connection ended early for ${file.path}`, true);
}

function rangeStart(response: Response): number {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : -1;
}

async function restart(part: string, progress: Progress): Promise<void> {
  await truncate(part, 0).catch(() => undefined);
  progress.have = 0;
  progress.hash.reset();
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  return info?.isFile() ? info.size : 0;
}

/** On disk before the rename names it, so a crash cannot leave a named file with lost bytes. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
