/**
 * Finished results on disk, keyed by their result hash (lib/service/result-key.ts): the same
 * request, seed, model, codec and engine give the same bytes, so a repeat is read instead of
 * generated. Off unless a directory is configured. The directory never holds more than
 * `maxBytes` of entries: the least recently used go before a write that would pass the bound,
 * and an entry larger than the bound is not kept. Any disk failure (full, read-only, a damaged
 * file) only costs a regeneration; it is reported to `onError` and never fails a request.
 * One process owns a directory (entries are written to a temporary name and renamed).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const ENTRY = /^[0-9a-f]{64}\.result$/;
const MAGIC = 'higgs-audio-result-1';

export interface CachedResult {
  /** What the result said besides its bytes (format, rate, seed, chunks, ...), as JSON. */
  meta: Record<string, unknown>;
  bytes: Buffer;
}

export interface ResultCacheOptions {
  dir: string;
  maxBytes: number;
  /**
   * The largest entry (file) kept or read; default maxBytes. A file over it is never read (its size
   * is checked first): it is removed as damaged.
   */
  maxEntryBytes?: number;
  onError?: (error: unknown) => void;
}

export class ResultCache {
  /** Writes and evictions one at a time, so the bound holds between them. */
  private queue: Promise<void> = Promise.resolve();

  /** The largest entry kept or read: maxEntryBytes within maxBytes. */
  private readonly maxEntry: number;

  constructor(private readonly options: ResultCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) throw new TypeError('ResultCache: maxBytes must be a positive integer');
    const entry = options.maxEntryBytes ?? options.maxBytes;
    if (!Number.isSafeInteger(entry) || entry < 1) throw new TypeError('ResultCache: maxEntryBytes must be a positive integer');
    this.maxEntry = Math.min(entry, options.maxBytes);
  }

  private file(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new TypeError('ResultCache: a key is a sha256 hex digest');
    return join(this.options.dir, `${hash}.result`);
  }

  /**
   * The entry of `hash`, or undefined (absent, damaged, unreadable or larger than an entry may be:
   * then it is removed). Its size is checked before it is read.
   */
  async get(hash: string): Promise<CachedResult | undefined> {
    const path = this.file(hash);
    try {
      await this.checkSize(path);
      const handle = await fs.open(path, 'r');
      let data: Buffer;
      try {
        await this.checkSize(path, handle); // the file opened is the file checked
        data = await handle.readFile();
      } finally {
        await handle.close();
      }
      const entry = parseEntry(data, hash);
      const now = new Date();
      await fs.utimes(path, now, now).catch(() => undefined); // recently used: evicted last
      return entry;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      this.options.onError?.(error);
      await fs.rm(path, { force: true }).catch(() => undefined);
      return undefined;
    }
  }

  /** Whether an entry of `hash` is kept (a file of an entry's size; its content is not read). */
  async has(hash: string): Promise<boolean> {
    try {
      await this.checkSize(this.file(hash));
      return true;
    } catch {
      return false;
    }
  }

  /** ENOENT when absent; an error when `path` is not a file or is larger than an entry may be. */
  private async checkSize(path: string, handle?: fs.FileHandle): Promise<void> {
    const info = handle ? await handle.stat() : await fs.stat(path);
    if (!info.isFile()) throw new Error(`result cache entry ${path}: not a file`);
    if (info.size > this.maxEntry) throw new Error(`result cache entry ${path}: ${info.size} bytes, more than the ${this.maxEntry}-byte bound of an entry (not read)`);
  }

  /** Keeps `entry` under `hash` when it fits the bound; failures go to onError. */
  put(hash: string, entry: CachedResult): Promise<void> {
    const data = formatEntry(hash, entry);
    const path = this.file(hash);
    const job = this.queue.then(async () => {
      if (data.length > this.maxEntry) return;
      try {
        await fs.mkdir(this.options.dir, { recursive: true });
        await this.evict(this.options.maxBytes - data.length, path);
        const temporary = join(this.options.dir, `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
        try {
          await fs.writeFile(temporary, data, { flag: 'wx' });
          await fs.rename(temporary, path);
        } catch (error) {
          await fs.rm(temporary, { force: true }).catch(() => undefined);
          throw error;
        }
      } catch (error) {
        this.options.onError?.(error);
      }
    });
    this.queue = job;
    return job;
  }

  /** Bytes the entries take now (the bound is checked against this). */
  async size(): Promise<number> {
    return (await this.entries()).reduce((sum, entry) => sum + entry.size, 0);
  }

  private async entries(): Promise<Array<{ path: string; size: number; used: number }>> {
    let names: string[];
    try {
      names = await fs.readdir(this.options.dir);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
    const found = await Promise.all(
      names.filter((name) => ENTRY.test(name)).map(async (name) => {
        const path = join(this.options.dir, name);
        const info = await fs.stat(path).catch(() => null);
        return info?.isFile() ? { path, size: info.size, used: info.mtimeMs } : null;
      }),
    );
    return found.filter((entry) => entry !== null);
  }

  /** Removes the least recently used entries (and `replacing`, which is rewritten) until at most `budget` bytes remain. */
  private async evict(budget: number, replacing: string): Promise<void> {
    const entries = await this.entries();
    let total = 0;
    for (const entry of entries) {
      if (entry.path === replacing) await fs.rm(entry.path, { force: true });
      else total += entry.size;
    }
    for (const entry of entries.filter((e) => e.path !== replacing).sort((a, b) => a.used - b.used)) {
      if (total <= budget) break;
      await fs.rm(entry.path, { force: true });
      total -= entry.size;
    }
  }
}

/** MAGIC, newline, the JSON header (hash, meta, byte count), newline, the bytes. */
function formatEntry(hash: string, entry: CachedResult): Buffer {
  const header = JSON.stringify({ hash, bytes: entry.bytes.length, meta: entry.meta });
  return Buffer.concat([Buffer.from(`${MAGIC}\n${header}\n`), entry.bytes]);
}

function parseEntry(data: Buffer, hash: string): CachedResult {
  const first = data.indexOf(0x0a);
  const second = first < 0 ? -1 : data.indexOf(0x0a, first + 1);
  if (second < 0 || data.subarray(0, first).toString() !== MAGIC) throw new Error('result cache entry: not an entry');
  const header = JSON.parse(data.subarray(first + 1, second).toString()) as { hash?: unknown; bytes?: unknown; meta?: unknown };
  const bytes = data.subarray(second + 1);
  if (header.hash !== hash) throw new Error('result cache entry: for another key');
  if (header.bytes !== bytes.length) throw new Error('result cache entry: truncated');
  if (typeof header.meta !== 'object' || header.meta === null) throw new Error('result cache entry: no metadata');
  return { meta: header.meta as Record<string, unknown>, bytes: Buffer.from(bytes) };
}
