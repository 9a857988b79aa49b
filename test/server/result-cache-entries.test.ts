// Issue 31, item 7 (part), over real HTTP on loopback with a result cache: `If-None-Match: *`
// matches only a result the cache holds (a seeded request never generated is generated), and a
// cache entry larger than any result is never read: its size is checked first (a planted sparse
// file of hundreds of MB neither raises the memory nor is served), and the request is generated.
import { closeSync, mkdtempSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import type { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { openTinyService } from '../support/tiny-service.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const opened: HiggsAudio[] = [];
const cacheDir = mkdtempSync(join(tmpdir(), 'higgs-result-cache-serve-'));
let tts: HiggsAudio;
let handler: TtsHandler;
let server: RunningServer;

beforeAll(async () => {
  // The default bound (1 GiB): a planted file far under it, far over any result.
  tts = openTinyService(opened, { resultCacheDir: cacheDir, resultCacheMb: 1024 });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await startServer(handler, { port: 0 });
});

afterAll(async () => {
  await server?.close();
  for (const service of opened) await service.dispose();
});

const speech = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const body = (seed: number) => ({ model: 'tts-1', input: 'Good morning to you.', seed, max_new_tokens: 40, response_format: 'wav' });

describe('serve with a result cache', () => {
  it('answers If-None-Match: * with 304 only for a result the cache holds', async () => {
    const served = tts.health().requests.served;
    const fresh = await speech(body(11), { 'if-none-match': '*' });
    expect(fresh.status).toBe(200); // never generated: nothing to match
    expect(fresh.headers.get('x-higgs-cached')).toBe('false');
    const bytes = Buffer.from(await fresh.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(44);
    expect(tts.health().requests.served).toBe(served + 1);
    const held = await speech(body(11), { 'if-none-match': '*' });
    expect(held.status).toBe(304);
    expect(held.headers.get('etag')).toBe(fresh.headers.get('etag'));
    expect(tts.health().requests.served).toBe(served + 1);
    // A decode-only request the same way: its codes never decoded before, then cached.
    const codes = await (await speech({ ...body(12), response_format: 'codes' })).json();
    const decodeOnly = { codes, response_format: 'flac' };
    expect((await speech(decodeOnly, { 'if-none-match': '*' })).status).toBe(200);
    expect((await speech(decodeOnly, { 'if-none-match': '*' })).status).toBe(304);
    // A stream is never kept: "*" never matches it, its own hash does.
    const streamed = { ...body(13), response_format: 'pcm', stream: true };
    const stream = await speech(streamed, { 'if-none-match': '*' });
    expect(stream.status).toBe(200);
    expect((await stream.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const unkept = await speech(streamed, { 'if-none-match': '*' });
    expect(unkept.status).toBe(200);
    await unkept.arrayBuffer();
    const again = await speech(streamed, { 'if-none-match': stream.headers.get('etag')! });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(stream.headers.get('etag'));
  });

  it('never reads an entry larger than any result: it regenerates instead', async () => {
    const first = await speech(body(21));
    const original = Buffer.from(await first.arrayBuffer());
    const hash = first.headers.get('x-higgs-result-hash')!;
    const entry = join(cacheDir, `${hash}.result`);
    // The same entry, its audio grown to 400 MB of (sparse) zeros: well formed, within the cache's
    // 1 GiB, beyond the largest result (OUTPUT_LIMITS plus its metadata).
    const data = readFileSync(entry);
    const headerEnd = data.indexOf(0x0a, data.indexOf(0x0a) + 1);
    const header = JSON.parse(data.subarray(data.indexOf(0x0a) + 1, headerEnd).toString()) as Record<string, unknown>;
    const planted = 400 * 1024 * 1024;
    const head = Buffer.from(`${data.subarray(0, data.indexOf(0x0a)).toString()}\n${JSON.stringify({ ...header, bytes: planted })}\n`);
    const fd = openSync(entry, 'w');
    writeSync(fd, head);
    ftruncateSync(fd, head.length + planted);
    closeSync(fd);

    gc();
    const rss = process.memoryUsage().rss;
    const again = await speech(body(21));
    const bytes = Buffer.from(await again.arrayBuffer());
    const grew = process.memoryUsage().rss - rss;
    expect(again.status).toBe(200);
    expect(again.headers.get('x-higgs-cached')).toBe('false');
    expect(bytes.equals(original)).toBe(true);
    expect(grew).toBeLessThan(150 * 1024 * 1024);
    // Regenerated and kept again: the next one is read back, at its own size.
    const third = await speech(body(21));
    expect(third.headers.get('x-higgs-cached')).toBe('true');
    expect(Buffer.from(await third.arrayBuffer()).equals(original)).toBe(true);
  });
});
