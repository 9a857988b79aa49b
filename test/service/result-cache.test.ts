// The result cache on a real directory: it never holds more than its bound, drops the least
// recently used first, keeps no entry larger than the bound, and treats damaged entries and an
// unwritable directory as misses, never as failures.
import { mkdtempSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResultCache } from '../../lib/service/result-cache.js';

const key = (n: number) => createHash('sha256').update(String(n)).digest('hex');
const entry = (n: number, bytes: number) => ({ meta: { n }, bytes: Buffer.alloc(bytes, n) });
const onDisk = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.result')).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);

describe('ResultCache', () => {
  it('never exceeds its bound, dropping the oldest first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-'));
    const bound = 10_000;
    const cache = new ResultCache({ dir, maxBytes: bound });
    for (let n = 0; n < 40; n += 1) {
      await cache.put(key(n), entry(n, 900 + ((n * 37) % 400)));
      expect(onDisk(dir)).toBeLessThanOrEqual(bound);
    }
    expect(await cache.size()).toBe(onDisk(dir));
    expect(await cache.get(key(0))).toBeUndefined();
    expect(await cache.get(key(39))).toEqual(entry(39, 900 + ((39 * 37) % 400)));
  });

  it('keeps a recently read entry over older ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-'));
    const cache = new ResultCache({ dir, maxBytes: 3000 });
    await cache.put(key(1), entry(1, 1000));
    await cache.put(key(2), entry(2, 1000));
    await new Promise((resolve) => setTimeout(resolve, 20)); // file times must differ
    expect(await cache.get(key(1))).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await cache.put(key(3), entry(3, 1000)); // room for two more only: 2 goes
    expect(await cache.get(key(2))).toBeUndefined();
    expect(await cache.get(key(1))).toBeDefined();
    expect(await cache.get(key(3))).toBeDefined();
  });

  it('keeps no entry larger than the bound, and rewrites an entry in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-'));
    const cache = new ResultCache({ dir, maxBytes: 2000 });
    await cache.put(key(1), entry(1, 5000));
    expect(await cache.get(key(1))).toBeUndefined();
    await cache.put(key(2), entry(2, 1500));
    await cache.put(key(2), entry(3, 1500));
    expect(await cache.get(key(2))).toEqual(entry(3, 1500));
    expect(onDisk(dir)).toBeLessThanOrEqual(2000);
  });

  it('treats a damaged or foreign entry as a miss and removes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-'));
    const errors: unknown[] = [];
    const cache = new ResultCache({ dir, maxBytes: 100_000, onError: (e) => errors.push(e) });
    await cache.put(key(1), entry(1, 100));
    const file = join(dir, `${key(1)}.result`);
    writeFileSync(file, readFileSync(file).subarray(0, 80)); // cut short
    expect(await cache.get(key(1))).toBeUndefined();
    expect(readdirSync(dir)).not.toContain(`${key(1)}.result`);
    await cache.put(key(2), entry(2, 100));
    writeFileSync(join(dir, `${key(3)}.result`), readFileSync(join(dir, `${key(2)}.result`))); // another key's entry
    expect(await cache.get(key(3))).toBeUndefined();
    expect(errors.length).toBe(2);
  });

  it('carries on where nothing can be written', async () => {
    const errors: unknown[] = [];
    const cache = new ResultCache({ dir: '/sys/kernel/higgs-results', maxBytes: 100_000, onError: (e) => errors.push(e) });
    await cache.put(key(1), entry(1, 100));
    expect(await cache.get(key(1))).toBeUndefined();
    expect(errors.length).toBe(1);
  });
});
