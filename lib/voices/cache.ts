// Codec codes of reference audio, cached in memory (LRU) and on disk (LRU by file time, within a
// size bound), so that a preset voice is encoded once per codec. One encode runs per distinct
// audio at a time; concurrent callers share it. A cache that cannot be read or written (a full
// or read-only disk) only costs a re-encode, never a request.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { HiggsError } from '../common/errors.js';
import { checkCodes, copyCodes, type CodeShape } from './codes.js';
import { isMissing } from './paths.js';

/** The codec encoder: audio file bytes (e.g. a WAV) in, codes [numCodebooks][T] out. */
export type VoiceEncoder = (audio: Buffer) => Promise<number[][]>;

export interface CodeCacheOptions extends CodeShape {
  /** Identifies the codec weights (e.g. a hash of them); codes of another codec are never reused. */
  codecId: string;
  /** Where cache files go; created on first write. */
  cacheDir: string;
  /** Most clips kept in memory. */
  maxMemoryEntries: number;
  /** Bytes of cache files kept on disk; the least recently used go first. */
  maxDiskBytes: number;
  /** Told about cache files that could not be read or written (the cache then just encodes). */
  onCacheError?: (error: unknown) => void;
  /** Told of each lookup: true when the codes came from memory or disk, false when they were encoded. */
  onLookup?: (hit: boolean) => void;
}

/** Identifies the cache file format; bump when the record layout changes. */
export const CACHE_FORMAT = 'higgs-audio-voice-codes';
export const CACHE_VERSION = 1;
// Far above any real clip (a 20 MB WAV at 8 kHz is ~31k frames, ~1 MB of JSON).
const MAX_CACHE_FILE_BYTES = 64 * 1024 * 1024;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
/** The names cacheFileName gives: only these files are counted and evicted. */
const CACHE_FILE = /^[0-9a-f]{64}-[0-9a-f]{16}\.json$/;

/**
 * The cache file name of `audio` under `codecId`: "<sha256(audio)>-<first 16 hex of
 * sha256(codecId)>.json". The record inside repeats the full codecId and audio hash, and both are
 * checked on read, so a shortened codec hash can never hand out another codec's codes.
 */
export function cacheFileName(audioSha256: string, codecId: string): string {
  return `${audioSha256}-${sha256(codecId).slice(0, 16)}.json`;
}

interface CacheRecord {
  format: string;
  version: number;
  codecId: string;
  audioSha256: string;
  codes: number[][];
}

export class CodeCache {
  private readonly memory = new Map<string, number[][]>();
  private readonly pending = new Map<string, Promise<number[][]>>();
  /** Evictions run one at a time. */
  private evicting: Promise<void> = Promise.resolve();

  constructor(
    private readonly encode: VoiceEncoder,
    private readonly options: CodeCacheOptions,
  ) {}

  /** Codes of `audio`: from memory, else from disk, else encoded (once, however many callers wait). */
  async codes(audio: Buffer): Promise<number[][]> {
    const audioSha = sha256(audio);
    const hit = this.memory.get(audioSha);
    if (hit) {
      this.options.onLookup?.(true);
      this.remember(audioSha, hit); // refresh its LRU position
      return copyCodes(hit);
    }
    let job = this.pending.get(audioSha);
    if (!job) {
      job = this.load(audio, audioSha).finally(() => this.pending.delete(audioSha));
      this.pending.set(audioSha, job);
    }
    return copyCodes(await job);
  }

  private async load(audio: Buffer, audioSha: string): Promise<number[][]> {
    const file = join(this.options.cacheDir, cacheFileName(audioSha, this.options.codecId));
    let codes = await this.readFile(file, audioSha);
    this.options.onLookup?.(codes !== undefined);
    if (!codes) {
      const checked = checkCodes(await this.encode(audio), this.options);
      if (typeof checked === 'string') throw new HiggsError('E_INTERNAL', `codec encoder returned invalid codes: ${checked}`);
      codes = checked;
      try {
        await this.writeFile(file, { format: CACHE_FORMAT, version: CACHE_VERSION, codecId: this.options.codecId, audioSha256: audioSha, codes });
      } catch (error) {
        this.options.onCacheError?.(error); // a read-only or full volume still works, it just re-encodes
      }
      // Also after a failed write: a full disk may be full of our own files.
      await (this.evicting = this.evicting.then(() => this.evict()));
    }
    this.remember(audioSha, codes);
    return codes;
  }

  /** The cached codes in `file`, or undefined if absent or not a valid record for this audio and codec. */
  private async readFile(file: string, audioSha: string): Promise<number[][] | undefined> {
    try {
      const info = await fs.stat(file);
      if (!info.isFile() || info.size > MAX_CACHE_FILE_BYTES) throw new Error('cache file is not a plausible record');
      const record = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<CacheRecord> | null;
      if (record?.format !== CACHE_FORMAT || record.version !== CACHE_VERSION) throw new Error('unknown cache record format');
      if (record.codecId !== this.options.codecId || record.audioSha256 !== audioSha) throw new Error('cache record is for other audio or codec');
      const codes = checkCodes(record.codes, this.options);
      if (typeof codes === 'string') throw new Error(`cache record holds invalid codes: ${codes}`);
      const now = new Date();
      await fs.utimes(file, now, now).catch(() => undefined); // recently used: evicted last
      return codes;
    } catch (error) {
      if (!isMissing(error)) this.options.onCacheError?.(error);
      return undefined; // corrupt or foreign: encode again and overwrite it
    }
  }

  /** Writes a temp file next to `file` and renames it over, so readers never see half a record. */
  private async writeFile(file: string, record: CacheRecord): Promise<void> {
    await fs.mkdir(this.options.cacheDir, { recursive: true });
    const temp = join(this.options.cacheDir, `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await fs.writeFile(temp, JSON.stringify(record), { flag: 'wx' });
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Deletes the least recently used cache files until the rest fit maxDiskBytes. */
  private async evict(): Promise<void> {
    try {
      const names = (await fs.readdir(this.options.cacheDir)).filter((name) => CACHE_FILE.test(name));
      const files = (
        await Promise.all(
          names.map(async (name) => {
            const path = join(this.options.cacheDir, name);
            const info = await fs.stat(path).catch(() => null);
            return info?.isFile() ? { path, size: info.size, used: info.mtimeMs } : null;
          }),
        )
      ).filter((f) => f !== null);
      let total = files.reduce((sum, f) => sum + f.size, 0);
      for (const file of files.sort((a, b) => a.used - b.used)) {
        if (total <= this.options.maxDiskBytes) break;
        await fs.rm(file.path, { force: true });
        total -= file.size;
      }
    } catch (error) {
      if (!isMissing(error)) this.options.onCacheError?.(error);
    }
  }

  private remember(audioSha: string, codes: number[][]): void {
    this.memory.delete(audioSha);
    this.memory.set(audioSha, codes);
    while (this.memory.size > this.options.maxMemoryEntries) {
      const oldest = this.memory.keys().next();
      if (oldest.done) break;
      this.memory.delete(oldest.value);
    }
  }
}
