// Issue 31, item 4, over real HTTP on loopback: with the only slot held and no queue, every
// expensive step is refused before it starts. An If-None-Match request with an inline ref_audio
// is refused without encoding its voice; a URL ref_audio is not fetched; a voice upload is not
// read, encoded or stored; a decode-only request and HiggsAudio.resultKey are refused. Work is
// counted, not timed: encodes by the voice library's code cache files, fetches by the file
// server's hits. Once the slot is free, a URL is fetched once per request, If-None-Match
// included (its hash and its generation share the fetch).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFingerprint } from '../../lib/audio/codec-id.js';
import { readFetchPolicy } from '../../lib/openai/fetch-reference.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import type { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { rejection } from '../support/rejection.js';
import { openTinyService, tinyCodecDir } from '../support/tiny-service.js';

const opened: HiggsAudio[] = [];
const work = mkdtempSync(join(tmpdir(), 'higgs-admission-'));
const voicesDir = join(work, 'voices');
let tts: HiggsAudio;
let handler: TtsHandler;
let server: RunningServer;
let files: Server;
let filesUrl: string;
let fetches = 0;
let codec: string;

/** A sine clip of `seconds` at `hz`, as WAV bytes (a distinct clip is a distinct encode). */
function clip(name: string, hz: number, seconds = 2): Buffer {
  const file = join(work, `${name}.wav`);
  execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', String(hz)]);
  return readFileSync(file);
}

/** Voice encodes so far: each writes one file to the voice library's code cache. */
const encodes = () => (existsSync(join(voicesDir, '.cache')) ? readdirSync(join(voicesDir, '.cache')).filter((f) => f.endsWith('.json')).length : 0);

beforeAll(async () => {
  mkdirSync(voicesDir, { recursive: true });
  const served = clip('served', 440);
  files = createServer((req, res) => {
    fetches += 1;
    res.end(served);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', () => resolve()));
  const port = (files.address() as AddressInfo).port;
  filesUrl = `http://127.0.0.1:${port}/clip.wav`;
  tts = openTinyService(opened, { voicesDir, maxConcurrency: 1, maxQueue: 0 });
  handler = createTtsHandler(tts, null, { refAudioFetch: readFetchPolicy({ HIGGS_REF_AUDIO_FETCH: '1', HIGGS_REF_AUDIO_ALLOWED_HOSTS: `127.0.0.1:${port}` }) });
  await handler.ready();
  server = await startServer(handler, { port: 0 });
  codec = await codecFingerprint(tinyCodecDir);
});

afterAll(async () => {
  await server?.close();
  files?.close();
  for (const service of opened) await service.dispose();
});

const speech = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const body = (extra: Record<string, unknown> = {}) => ({ model: 'tts-1', input: 'Good morning to you.', seed: 5, max_new_tokens: 40, response_format: 'wav', ...extra });
const NOPE = `"${'0'.repeat(64)}"`;

/** Holds the only slot: a stream paused after its first chunk keeps it until `release`. */
async function holdSlot(): Promise<() => Promise<void>> {
  const chunks = tts.stream({ transcript: 'Good morning to you.', seed: 5, max_new_tokens: 400, output_format: 'pcm' })[Symbol.asyncIterator]();
  expect((await chunks.next()).done).toBe(false);
  expect(tts.health().requests.active).toBe(1);
  return async () => {
    await chunks.return?.();
    expect(tts.health().requests.active).toBe(0);
  };
}

function upload(name: string, audio: Buffer): Promise<Response> {
  const form = new FormData();
  form.append('name', name);
  form.append('audio_sample', new Blob([new Uint8Array(audio)]), `${name}.wav`);
  form.append('ref_text', 'A tone.');
  return fetch(`${server.url}/v1/audio/voices`, { method: 'POST', body: form });
}

describe('serve while its only slot is held (HIGGS_MAX_QUEUE=0)', () => {
  it('refuses an If-None-Match request with an inline ref_audio before encoding its voice', async () => {
    const inline = body({ ref_audio: clip('inline', 300, 8).toString('base64'), ref_text: 'A tone.' });
    const release = await holdSlot();
    try {
      const before = encodes();
      const refused = await speech(inline, { 'if-none-match': NOPE });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('E_BUSY');
      expect(encodes()).toBe(before);
    } finally {
      await release();
    }
    // With the slot free: the voice is encoded as the request runs, and its hash answers a 304.
    const first = await speech(inline, { 'if-none-match': NOPE });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const hash = first.headers.get('x-higgs-result-hash')!;
    const served = tts.health().requests.served;
    const again = await speech(inline, { 'if-none-match': `"${hash}"` });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(`"${hash}"`);
    expect(tts.health().requests.served).toBe(served);
  });

  it('refuses a URL ref_audio before fetching it, and fetches it once per request', async () => {
    const byUrl = body({ ref_audio: filesUrl, ref_text: 'A tone.' });
    const release = await holdSlot();
    try {
      const start = fetches;
      expect((await speech(byUrl)).status).toBe(429);
      expect((await speech(byUrl, { 'if-none-match': NOPE })).status).toBe(429);
      expect(fetches).toBe(start);
    } finally {
      await release();
    }
    let start = fetches;
    const first = await speech(byUrl, { 'if-none-match': NOPE });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    expect(fetches - start).toBe(1); // one fetch for the hash and the generation
    start = fetches;
    const held = await speech(byUrl, { 'if-none-match': `"${first.headers.get('x-higgs-result-hash')}"` });
    expect(held.status).toBe(304);
    expect(fetches - start).toBe(1);
  });

  it('refuses a voice upload before reading, encoding or storing it', async () => {
    const audio = clip('upload', 520, 6);
    const release = await holdSlot();
    try {
      const before = encodes();
      const refused = await upload('held', audio);
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('E_BUSY');
      expect(encodes()).toBe(before);
      expect(existsSync(join(voicesDir, 'held.wav'))).toBe(false);
    } finally {
      await release();
    }
    const stored = await upload('held', audio);
    expect(stored.status).toBe(200);
    expect(existsSync(join(voicesDir, 'held.wav'))).toBe(true);
  });

  it('refuses a decode-only request and a result key while full', async () => {
    const frames = 50;
    const codes = { layout: 'int16le', codebooks: 8, frames, codec, base64: Buffer.alloc(8 * frames * 2, 1).toString('base64') };
    const inline = { transcript: 'Good morning to you.', seed: 5, ref_audio: { base64: clip('key', 610, 4).toString('base64'), transcript: 'A tone.' } };
    const release = await holdSlot();
    try {
      expect((await speech({ codes, response_format: 'wav' })).status).toBe(429);
      expect((await speech({ codes, response_format: 'wav' }, { 'if-none-match': NOPE })).status).toBe(429);
      const before = encodes();
      expect((await rejection(tts.resultKey(inline))).code).toBe('E_BUSY');
      expect(encodes()).toBe(before);
    } finally {
      await release();
    }
    expect((await speech({ codes, response_format: 'wav' })).status).toBe(200);
    expect((await tts.resultKey(inline)).seed).toBe(5);
  });
});
