/**
 * The digests a downloaded file is checked against, computed while its bytes arrive: sha256
 * (the LFS object id of large files, and what the manifest records) and, for files kept in git
 * rather than LFS, the git blob id, sha1("blob SIZE\0" + content).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { RepoFile } from './select-files.js';

export class ContentHash {
  private sha256!: Hash;
  private gitBlob: Hash | undefined;

  constructor(private readonly file: RepoFile) {
    this.reset();
  }

  reset(): void {
    this.sha256 = createHash('sha256');
    this.gitBlob = this.file.gitOid ? createHash('sha1').update(`blob ${this.file.size}\0`) : undefined;
  }

  update(bytes: Uint8Array): void {
    this.sha256.update(bytes);
    this.gitBlob?.update(bytes);
  }

  /** Feeds the first `length` bytes of `path` (a partial download being resumed). */
  async updateFromFile(path: string, length: number): Promise<void> {
    if (length === 0) return;
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) this.update(chunk as Buffer);
  }

  /** The content's sha256, or a description of how it differs from what the Hub listed. */
  check(): { sha256: string; mismatch?: string } {
    const sha256 = this.sha256.digest('hex');
    if (this.file.sha256 !== undefined && this.file.sha256 !== sha256) return { sha256, mismatch: `sha256 ${sha256}, the Hub lists ${this.file.sha256}` };
    const blob = this.gitBlob?.digest('hex');
    if (blob !== undefined && blob !== this.file.gitOid) return { sha256, mismatch: `git blob id ${blob}, the Hub lists ${this.file.gitOid}` };
    return { sha256 };
  }
}

/** The sha256 of the file at `path` when it is `file` (its size and digests), else null. */
export async function verifiedSha256(path: string, file: RepoFile, size: number): Promise<string | null> {
  if (size !== file.size) return null;
  const hash = new ContentHash(file);
  await hash.updateFromFile(path, size);
  const result = hash.check();
  return result.mismatch === undefined ? result.sha256 : null;
}
