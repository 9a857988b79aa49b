// What a result is, over real HTTP (issue 18): serve's /v1/audio/speech names every result by its
// seed and hash (ETag), answers If-None-Match with 304 without generating, says each chunk's stop
// reason (headers, raw-stream trailers, the SSE done event); the RunPod shape carries the same
// fields, and a retried RunPod job (same id, no seed) returns the same bytes.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';
import { join } from 'node:path';

let tts: HiggsAudio;
let handler: TtsHandler;
let server: RunningServer;

beforeAll(async () => {
  const config = { ...loadConfig({ HIGGS_DEVICE: 'cpu' }), modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: null, maxContext: 2048 };
  tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }) });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await startServer(handler, { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await handler?.dispose();
});

const body = (extra: Record<string, unknown> = {}) => ({ model: 'tts-1', input: 'Good morning to you.', seed: 5, max_new_tokens: 40, response_format: 'wav', ...extra });
const speech = (payload: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });

describe('serve: result headers', () => {
  it('names a result by seed and hash, and answers a matching If-None-Match with 304', async () => {
    const first = await speech(body());
    expect(first.status).toBe(200);
    const hash = first.headers.get('x-higgs-result-hash')!;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.headers.get('etag')).toBe(`"${hash}"`);
    expect(first.headers.get('x-higgs-seed')).toBe('5');
    expect(first.headers.get('x-higgs-truncated')).toMatch(/^(true|false)$/);
    const reasons = first.headers.get('x-higgs-stop-reasons')!.split(',');
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(['audio_end', 'max_frames', 'context_full']).toContain(reason);
    // max_new_tokens 40 for this text: a capped chunk says so.
    expect(first.headers.get('x-higgs-truncated')).toBe(String(reasons.some((r) => r !== 'audio_end')));
    const bytes = Buffer.from(await first.arrayBuffer());

    const again = await speech(body());
    expect(again.headers.get('etag')).toBe(`"${hash}"`);
    expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);

    const served = tts.health().requests.served;
    const notModified = await speech(body(), { 'if-none-match': `W/"nope", "${hash}"` });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe(`"${hash}"`);
    expect(tts.health().requests.served).toBe(served); // nothing generated

    const otherSeed = await speech(body({ seed: 6 }), { 'if-none-match': `"${hash}"` });
    expect(otherSeed.status).toBe(200);
    expect(otherSeed.headers.get('etag')).not.toBe(`"${hash}"`);
    await otherSeed.arrayBuffer();
    // Without a seed each request draws its own: it never matches, it is generated.
    const { seed: _seed, ...unseeded } = body();
    const drawn = await speech(unseeded, { 'if-none-match': `"${hash}"` });
    expect(drawn.status).toBe(200);
    expect(drawn.headers.get('x-higgs-seed')).toMatch(/^\d+$/);
    await drawn.arrayBuffer();
  });

  it('sends a raw stream its seed and hash first and its stop reasons as trailers', async () => {
    const { headers, trailers, bytes } = await rawRequest(body({ response_format: 'pcm', stream: true }));
    expect(headers['x-higgs-seed']).toBe('5');
    expect(headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect(bytes).toBeGreaterThan(0);
    expect(trailers['x-higgs-truncated']).toMatch(/^(true|false)$/);
    expect(trailers['x-higgs-stop-reasons']).toMatch(/^(audio_end|max_frames|context_full)(,(audio_end|max_frames|context_full))*$/);
  });

  it('ends an SSE stream with its seed, hash, stop reasons and timestamps', async () => {
    const answer = await speech(body({ response_format: 'pcm', stream_format: 'sse' }));
    const events = (await answer.text()).split('\n\n').filter(Boolean).map((line) => JSON.parse(line.slice('data: '.length)));
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'speech.audio.done', seed: 5, result_hash: expect.stringMatching(/^[0-9a-f]{64}$/), truncated: expect.any(Boolean) });
    expect(done.stop_reasons.length).toBeGreaterThan(0);
    // Each chunk's place in the audio, one per stop reason, end to end from 0.
    expect(done.timestamps.length).toBe(done.stop_reasons.length);
    expect(done.timestamps[0].start_seconds).toBe(0);
    for (let i = 1; i < done.timestamps.length; i += 1) expect(done.timestamps[i].start_seconds).toBe(done.timestamps[i - 1].end_seconds);
    expect(done.usage.output_tokens).toBeGreaterThan(0);
  });
});

/** A raw HTTP request (fetch hides trailers). */
function rawRequest(payload: unknown): Promise<{ headers: Record<string, string | string[] | undefined>; trailers: Record<string, string | undefined>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ headers: res.headers, trailers: res.trailers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(payload));
  });
}

describe('RunPod shape', () => {
  const ctx = (id: string) => ({ id, signal: new AbortController().signal });

  it('gives a retried job (same id, no seed) the same bytes, another job another seed', async () => {
    const input = { transcript: 'Good morning to you.', max_new_tokens: 40 };
    const first = await handler.run(input, ctx('job-abc'));
    const retry = await handler.run(input, ctx('job-abc'));
    const other = await handler.run(input, ctx('job-xyz'));
    expect(retry.audio_base64).toBe(first.audio_base64);
    expect(retry).toMatchObject({ seed: first.seed, result_hash: first.result_hash });
    expect(other.seed).not.toBe(first.seed);
    expect(first).toMatchObject({ truncated: expect.any(Boolean), cached: false, chunks: [expect.objectContaining({ stop_reason: expect.any(String) })] });
    // Where the chunk's audio lies in the result: all of it, from 0 (25 frames a second).
    const [chunk] = first.chunks as Array<{ frames: number; start_seconds: number; end_seconds: number }>;
    expect(chunk).toMatchObject({ start_seconds: 0, end_seconds: chunk!.frames / 25 });
    // A given seed wins over the job's.
    expect((await handler.run({ ...input, seed: 3 }, ctx('job-abc'))).seed).toBe(3);
  });

  it('returns codes and decodes them through jobs', async () => {
    const coded = await handler.run({ transcript: 'Good morning to you.', seed: 5, max_new_tokens: 40, output_format: 'codes' }, ctx('job-codes'));
    expect(coded.audio_base64).toBeUndefined();
    expect(coded.codes).toMatchObject({ layout: 'int16le', codebooks: 8 });
    const decoded = await handler.run({ codes: coded.codes }, ctx('job-decode'));
    const wav = await handler.run({ transcript: 'Good morning to you.', seed: 5, max_new_tokens: 40 }, ctx('job-wav'));
    expect(decoded.audio_base64).toBe(wav.audio_base64);
    expect(decoded.seed).toBeUndefined();
    // Through /v1/audio/speech too: codes as a JSON body, and a body of codes alone decodes them.
    const json = await (await speech(body({ response_format: 'codes' }))).json();
    expect(json).toEqual(coded.codes);
    const audio = await speech({ codes: json, response_format: 'wav' });
    expect(audio.status).toBe(200);
    expect(Buffer.from(await audio.arrayBuffer()).toString('base64')).toBe(wav.audio_base64);
    // ref_codes: the same codes as a voice, as the RunPod shape's { codes, transcript } voice.
    const cloned = await speech(body({ ref_codes: json, ref_text: 'Good morning to you.' }));
    expect(cloned.status).toBe(200);
    const viaJob = await handler.run({ transcript: 'Good morning to you.', seed: 5, max_new_tokens: 40, ref_audio: { codes: json, transcript: 'Good morning to you.' } }, ctx('job-ref'));
    expect(Buffer.from(await cloned.arrayBuffer()).toString('base64')).toBe(viaJob.audio_base64);
    expect((await speech(body({ ref_codes: json }))).status).toBe(400); // its transcript is needed
  });
});
