// Issue 31, item 7 (part): a result cache entry's size is checked (stat) before it is read. A
// well-formed entry over the largest entry (maxEntryBytes) is neither returned nor kept: it is
// removed as damaged and reported; has() says whether an entry is kept without reading it; a
// path that is not a file is never opened.
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultCache } from '../../lib/service/result-cache.js';

const key = (n: number) => createHash('sha256').update(String(n)).digest('hex');
const entry = (n: number, bytes: number) => ({ meta: { n }, bytes: Buffer.alloc(bytes, n) });

describe('ResultCache entry size', () => {
  it('does not return or keep an entry over maxEntryBytes, and removes a planted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-size-'));
    const errors: unknown[] = [];
    const small = new ResultCache({ dir, maxBytes: 1_000_000, maxEntryBytes: 1_000_000, onError: (e) => errors.push(e) });
    await small.put(key(1), entry(1, 50_000));
    const file = join(dir, `${key(1)}.result`);
    expect(await small.get(key(1))).toEqual(entry(1, 50_000));
    // The same directory read with a smaller per-entry bound: that entry is too big to be one.
    const bounded = new ResultCache({ dir, maxBytes: 1_000_000, maxEntryBytes: 10_000, onError: (e) => errors.push(e) });
    expect(await bounded.has(key(1))).toBe(false);
    expect(await bounded.get(key(1))).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    expect(String(errors.at(-1))).toMatch(/more than the 10000-byte bound of an entry \(not read\)/);
    await bounded.put(key(2), entry(2, 20_000));
    expect(existsSync(join(dir, `${key(2)}.result`))).toBe(false);
    await bounded.put(key(3), entry(3, 5_000));
    expect(await bounded.has(key(3))).toBe(true);
    expect(await bounded.get(key(3))).toEqual(entry(3, 5_000));
  });

  it('checks a large planted file by its size, without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-size-'));
    const cache = new ResultCache({ dir, maxBytes: 2 ** 30, maxEntryBytes: 1_000_000 });
    await cache.put(key(4), entry(4, 1000));
    const file = join(dir, `${key(4)}.result`);
    const head = readFileSync(file).subarray(0, 200);
    const fd = openSync(file, 'w');
    writeSync(fd, head);
    ftruncateSync(fd, 512 * 1024 * 1024); // sparse: no disk, but 512 MB if it were read
    closeSync(fd);
    const rss = process.memoryUsage().rss;
    expect(await cache.get(key(4))).toBeUndefined();
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    expect(existsSync(file)).toBe(false);
  });

  it('never opens a path that is not a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-size-'));
    const errors: unknown[] = [];
    const cache = new ResultCache({ dir, maxBytes: 1_000_000, onError: (e) => errors.push(e) });
    mkdirSync(join(dir, `${key(5)}.result`));
    expect(await cache.has(key(5))).toBe(false);
    expect(await cache.get(key(5))).toBeUndefined();
    expect(String(errors.at(-1))).toMatch(/not a file/);
  });

  it('refuses a maxEntryBytes that is not a positive integer', () => {
    expect(() => new ResultCache({ dir: tmpdir(), maxBytes: 10, maxEntryBytes: 0 })).toThrow(/maxEntryBytes/);
  });
});
