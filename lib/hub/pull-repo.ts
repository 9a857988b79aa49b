/**
 * `pull` for one repository: resolve the revision to a commit, list that commit, pick the files
 * the engine reads (lib/hub/select-files.ts), keep those already in place that verify, download
 * the rest (lib/hub/download-file.ts), and write the manifest last (lib/hub/manifest.ts). A
 * second pull of the same commit whose files all verify changes nothing and says so.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifiedSha256 } from './content-hash.js';
import { ensureSpace, freeBytes } from './disk-space.js';
import { downloadFile, partPath } from './download-file.js';
import { listRepoFiles, resolveCommit } from './hub-client.js';
import type { HubSettings } from './hub-settings.js';
import { newManifest, readManifest, removeManifest, writeManifest, type PulledFile, type PullManifest } from './manifest.js';
import type { PullEvent } from './pull-events.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { parseIndex, selectFiles, WEIGHTS_INDEX, type RepoFile, type SkippedFile } from './select-files.js';

export interface PullRepoOptions {
  repo: string;
  /** A branch, tag or commit sha. */
  revision: string;
  /** Where the files go (ROOT/<owner>/<name>); created when missing. */
  dir: string;
  hub: HubSettings;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  onEvent?: (event: PullEvent) => void;
  /** Free space of a folder (tests simulate a full disk). */
  freeBytes?: (dir: string) => Promise<number>;
}

export interface PullResult {
  repo: string;
  revision: string;
  commit: string;
  dir: string;
  files: PulledFile[];
  skipped: SkippedFile[];
  needsConversion: boolean;
  /** Nothing was fetched or written: the folder already held this commit, verified. */
  upToDate: boolean;
  /** Bytes fetched from the Hub in this run. */
  fetchedBytes: number;
}

export async function pullRepo(options: PullRepoOptions): Promise<PullResult> {
  const { repo, revision, dir, hub, signal } = options;
  const retry = options.retry ?? DEFAULT_RETRY;
  const emit = options.onEvent ?? (() => undefined);
  const onRetry = (path?: string) => (attempt: number, delayMs: number, error: unknown) =>
    emit({ type: 'retry', repo, path, attempt, delayMs, reason: error instanceof Error ? error.message : String(error) });
  await mkdir(dir, { recursive: true });

  const commit = await resolveCommit(hub, repo, revision, { signal, retry, onRetry: onRetry() });
  emit({ type: 'resolved', repo, revision, commit, dir });
  const listing = await listRepoFiles(hub, repo, commit, { signal, retry, onRetry: onRetry() });
  const previous = readManifest(dir);
  const sameCommit = previous?.repo === repo && previous.commit === commit;
  if (previous !== null && !sameCommit) await removeManifest(dir); // files are about to change

  let fetchedBytes = 0;
  const fetch = async (file: RepoFile): Promise<string> => {
    const sha256 = await downloadFile(dir, file, {
      hub,
      repo,
      commit,
      retry,
      signal,
      onStart: (offset) => emit({ type: 'file-start', repo, path: file.path, size: file.size, offset }),
      onBytes: (delta, have) => {
        fetchedBytes += delta;
        emit({ type: 'bytes', repo, path: file.path, delta, have, size: file.size });
      },
      onRetry: onRetry(file.path),
    });
    emit({ type: 'file-done', repo, path: file.path, size: file.size });
    return sha256;
  };
  const inPlace = async (file: RepoFile): Promise<string | null> => {
    const info = await stat(join(dir, file.path)).catch(() => null);
    if (!info?.isFile() || info.size !== file.size) return null;
    emit({ type: 'verify', repo, path: file.path, size: file.size });
    return verifiedSha256(join(dir, file.path), file, info.size);
  };

  // The index decides which shards are wanted, so it comes first.
  const index = listing.find((file) => file.path === WEIGHTS_INDEX);
  const hashes = new Map<string, string>();
  if (index) {
    hashes.set(index.path, (await inPlace(index)) ?? (await fetch(index)));
  }
  const shards = index ? parseIndex(repo, await readFile(join(dir, WEIGHTS_INDEX), 'utf8')) : undefined;
  const selection = selectFiles(repo, listing, shards);
  if (selection.skipped.length) emit({ type: 'skipped', repo, files: selection.skipped });

  for (const file of selection.files) {
    if (hashes.has(file.path)) continue;
    const sha256 = await inPlace(file);
    if (sha256 !== null) hashes.set(file.path, sha256);
  }
  const missing = selection.files.filter((file) => !hashes.has(file.path));
  const record = (): PulledFile[] => selection.files.map((file) => ({ path: file.path, size: file.size, sha256: hashes.get(file.path)! }));
  const result = { repo, revision, commit, dir, skipped: selection.skipped, needsConversion: selection.needsConversion };
  if (missing.length === 0 && fetchedBytes === 0 && sameCommit && sameFiles(previous!, selection.files)) {
    emit({ type: 'up-to-date', repo, commit, dir });
    return { ...result, files: record(), upToDate: true, fetchedBytes };
  }
  if (missing.length) await removeManifest(dir);

  const remaining = await Promise.all(missing.map(async (file) => file.size - (await partSize(join(dir, file.path), file.size))));
  await ensureSpace(dir, remaining.reduce((sum, bytes) => sum + bytes, 0), options.freeBytes ?? freeBytes);
  emit({ type: 'plan', repo, files: missing.map(({ path, size }) => ({ path, size })), bytes: remaining.reduce((sum, bytes) => sum + bytes, 0) });
  for (const file of missing) hashes.set(file.path, await fetch(file));

  // Files of the commit pulled before that this one no longer has (ours: its manifest listed them).
  const wanted = new Set(selection.files.map((file) => file.path));
  for (const old of previous?.files ?? []) if (!wanted.has(old.path)) await rm(join(dir, old.path), { force: true });

  const files = record();
  await writeManifest(dir, newManifest({ repo, revision, commit, endpoint: hub.endpoint, files, needsConversion: selection.needsConversion }));
  return { ...result, files, upToDate: false, fetchedBytes };
}

function sameFiles(manifest: PullManifest, files: readonly RepoFile[]): boolean {
  const listed = new Map(manifest.files.map((file) => [file.path, file.size]));
  return listed.size === files.length && files.every((file) => listed.get(file.path) === file.size);
}

/** Bytes of a resumable partial (none when it is larger than the file). */
async function partSize(target: string, size: number): Promise<number> {
  const info = await stat(partPath(target)).catch(() => null);
  return info?.isFile() && info.size <= size ? info.size : 0;
}
