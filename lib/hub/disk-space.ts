/** Free space before a download starts, so a full disk fails early with the size it needs. */
import { statfs } from 'node:fs/promises';
import { HiggsError } from '../common/errors.js';
import { formatBytes } from './format-bytes.js';

/** Bytes an unprivileged process may still write in the file system of `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
}

/** @throws HiggsError E_DISK_FULL when `dir` has less than `needed` bytes free. */
export async function ensureSpace(dir: string, needed: number, free: (dir: string) => Promise<number> = freeBytes): Promise<void> {
  const available = await free(dir);
  if (available < needed) {
    throw new HiggsError('E_DISK_FULL', `not enough space in ${dir}: the download needs ${formatBytes(needed)}, ${formatBytes(available)} is free`);
  }
}

/** A write failed with ENOSPC: what was being written and how much more it needed. */
export function diskFullError(path: string, remaining: number, cause: unknown): HiggsError {
  return new HiggsError(
    'E_DISK_FULL',
    `the disk is full while writing ${path}: it needs ${formatBytes(remaining)} more; the partial file is kept, free space and run pull again to resume`,
    { cause },
  );
}
