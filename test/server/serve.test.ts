// The local API server with the real handler over the tiny model: the deployment guide's curl,
// the npm runpod-sdk client on the /v2 routes (run, runSync, status, stream, cancel, health),
// bad inputs that must fail cleanly while the server keeps serving, body limit, API key, rate limit
// (docs/runpod-protocol.md#local-serve-mode).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import runpodSdk from 'runpod-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createLogger } from '../../lib/common/log.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { EXPECTED_ABI, loadNative } from '../../lib/native/loader.js';
import { goldensDir } from '../support/goldens.js';

const request = (extra: Record<string, unknown> = {}) => ({ transcript: 'Hello there.', seed: 1, max_new_tokens: 30, ...extra });

let handler: TtsHandler;
let server: RunningServer;
let guarded: RunningServer;
let endpoint: ReturnType<ReturnType<typeof runpodSdk>['endpoint']> & {};

beforeAll(async () => {
  const tts = new HiggsAudio({
    config: {
      modelDir: tinyHfDir,
      codecDir: join(goldensDir, 'codec'),
      voicesDir: null,
      device: 'cpu',
      dtype: 'float32',
      maxContext: 2048,
      maxConcurrency: 1,
      maxQueue: 32,
    },
    logger: createLogger({ level: 'silent' }),
  });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await startServer(handler, { port: 0 });
  // A second server on the same handler with a key and a small body limit.
  guarded = await startServer(handler, { port: 0, apiKey: 'sekret', bodyLimitBytes: 64 * 1024 });
  endpoint = runpodSdk('any-key', { baseUrl: `${server.url}/v2` }).endpoint('local')!;
});

afterAll(async () => {
  await server?.close();
  await guarded?.close();
  await handler?.dispose();
});

const post = (url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(url, { method: 'POST', body, headers });

function expectWav(output: { audio_base64?: unknown; sample_rate?: unknown }): void {
  expect(Buffer.from(output.audio_base64 as string, 'base64').subarray(0, 4).toString('ascii')).toBe('RIFF');
  expect(output.sample_rate).toBe(24000);
}

/** A FAILED job's error: RunPod's JSON string with the HiggsError code as the type. */
function failure(view: { status?: string; error?: unknown }): { error_type: string; error_message: string } {
  expect(view.status).toBe('FAILED');
  return JSON.parse(view.error as string);
}

async function statusUntilDone(id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const view = (await endpoint.status(id)) as unknown as Record<string, unknown>;
    if (view.completed) return view;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('local API server', () => {
  it("answers the deployment guide's curl (POST / without a JSON content type) with the result", async () => {
    const res = await post(server.url, JSON.stringify({ input: request() }), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'COMPLETED', workerId: 'local', id: expect.stringMatching(/^sync-/) });
    expect(body.executionTime).toBeGreaterThanOrEqual(0);
    expectWav(body.output);
    expect(body.output.seed).toBe(1);
  });

  it('serves runpod-sdk runSync', async () => {
    const result = await endpoint.runSync({ input: request({ seed: 2 }) });
    expect(result).toMatchObject({ status: 'COMPLETED', succeeded: true, completed: true });
    expectWav(result.output);
  });

  it('runs /run jobs in the background; runpod-sdk status polls them to COMPLETED', async () => {
    const started = await endpoint.run({ input: request({ seed: 3 }) });
    // The real state: IN_QUEUE, or IN_PROGRESS when a slot was free at once.
    expect(started).toMatchObject({ id: expect.any(String), status: expect.stringMatching(/^IN_(QUEUE|PROGRESS)$/) });
    const synced = await endpoint.statusSync(started.id, 30_000);
    expect(synced.status).toBe('COMPLETED');
    const done = await statusUntilDone(started.id);
    expect(done).toMatchObject({ id: started.id, status: 'COMPLETED', succeeded: true });
    expectWav(done.output as object);
    // The development routes see the same job, by GET and (as runpod-python's) by POST.
    const plain = await (await fetch(`${server.url}/status/${started.id}`)).json();
    expect(plain.status).toBe('COMPLETED');
    expect((await (await post(`${server.url}/status/${started.id}`, '')).json()).status).toBe('COMPLETED');
  });

  it('streams "stream": true jobs through runpod-sdk stream', async () => {
    const { id } = await endpoint.run({ input: request({ seed: 4, stream: true }) });
    const parts: { output: { part: number; audio_base64: string; format: string } }[] = [];
    for await (const item of endpoint.stream(id)) parts.push(item as (typeof parts)[number]);
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.map((p) => p.output.part)).toEqual(parts.map((_, i) => i));
    expect(Buffer.from(parts[0]!.output.audio_base64, 'base64').subarray(0, 4).toString('ascii')).toBe('RIFF');
    const done = (await endpoint.status(id)) as unknown as { status: string; output: unknown[] };
    expect(done.status).toBe('COMPLETED');
    expect(done.output).toHaveLength(parts.length); // the output aggregates the parts

    // Any output format streams: the parts' bytes in order are one MP3 that soxi reads.
    const mp3 = await endpoint.run({ input: request({ seed: 4, stream: true, output_format: 'mp3', max_new_tokens: 200 }) });
    const mp3Parts: (typeof parts)[number][] = [];
    for await (const item of endpoint.stream(mp3.id)) mp3Parts.push(item as (typeof parts)[number]);
    expect(mp3Parts.every((p) => p.output.format === 'mp3')).toBe(true);
    expect(mp3Parts.filter((p) => p.output.audio_base64 !== '').length).toBeGreaterThan(1);
    const file = join(mkdtempSync(join(tmpdir(), 'higgs-stream-mp3-')), 'job.mp3');
    writeFileSync(file, Buffer.concat(mp3Parts.map((p) => Buffer.from(p.output.audio_base64, 'base64'))));
    expect(execFileSync('soxi', ['-r', file], { encoding: 'utf8' }).trim()).toBe('24000');
  });

  it('cancels running and queued jobs, then keeps serving', async () => {
    const running = await endpoint.run({ input: request({ seed: 5, max_new_tokens: 1500 }) });
    const queued = await endpoint.run({ input: request({ seed: 6, max_new_tokens: 1500 }) });
    expect(await endpoint.cancel(queued.id)).toEqual({ id: queued.id, status: 'CANCELLED' });
    expect(await endpoint.cancel(running.id)).toEqual({ id: running.id, status: 'CANCELLED' });
    expect((await endpoint.status(running.id)).status).toBe('CANCELLED');
    expect((await endpoint.status(queued.id)).status).toBe('CANCELLED');
    const after = await endpoint.runSync({ input: request({ seed: 7 }) });
    expect(after.status).toBe('COMPLETED');
  });

  it('reports health in RunPod\'s shape with the engine\'s', async () => {
    const health = await endpoint.health();
    expect(health.jobs).toMatchObject({ completed: expect.any(Number), failed: expect.any(Number), inProgress: 0, inQueue: 0 });
    expect(health.jobs.completed).toBeGreaterThan(0);
    expect(health.workers).toMatchObject({ idle: 1, running: 0 });
    expect((health as unknown as { engine: { status: string } }).engine.status).toBe('ready');
  });

  it('names the package version and what the addon was built with on /health', async () => {
    const body = (await (await fetch(`${server.url}/health`)).json()) as { engine: { build: Record<string, unknown> } };
    const native = loadNative().buildInfo();
    expect(body.engine.build).toEqual({
      version: JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version,
      abi: EXPECTED_ABI,
      torchVersion: native.torchVersion,
      cudaVersion: 'cpu',
      kernelArchs: 'cpu',
    });
    expect(native.torchVersion).toMatch(/^2\.\d+\.\d+/);
  });

  it('fails bad inputs as FAILED jobs with the field and code, and answers bad bodies with 400s', async () => {
    const cases: [unknown, string][] = [
      [{ transcript: 5 }, 'transcript'],
      [{ transcript: 'x'.repeat(10_001) }, 'transcript'],
      [{ transcript: 'Hi', ref_audio: '../x' }, 'ref_audio'],
      [{ transcript: 'Hi', ref_audio: { base64: '!!not base64!!', transcript: 'Hi' } }, 'ref_audio'],
      [{ transcript: 'Hi', temperature: 'hot' }, 'temperature'],
      [{ transcript: 'Hi', stream: 'yes' }, 'stream'],
      ['just a string', 'input'],
    ];
    for (const [input, field] of cases) {
      const view = await endpoint.runSync({ input } as never);
      const error = failure(view);
      expect(error.error_type).toBe('E_INPUT');
      expect(error.error_message).toContain(field);
    }
    const bodies: [string, Record<string, string>, RegExp][] = [
      ['{"input": {"transcript": ', { 'content-type': 'application/json' }, /not valid JSON/],
      ['', { 'content-type': 'application/json' }, /empty/],
      ['[1, 2]', { 'content-type': 'application/json' }, /JSON object/],
      ['{"transcript": "Hi"}', { 'content-type': 'application/json' }, /^input: required/],
      ['{"input": {"transcript": "Hi"}}', { 'content-type': 'multipart/form-data; boundary=x' }, /content-type/],
    ];
    for (const route of ['', '/runsync', '/run', '/v2/local/run']) {
      for (const [body, headers, message] of bodies) {
        const res = await post(`${server.url}${route}`, body, headers);
        expect(res.status).toBe(400);
        expect((await res.json()).error).toMatch(message);
      }
    }
    expect((await fetch(`${server.url}/status/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
    const wrongMethod = await fetch(`${server.url}/run`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    // Names of Object.prototype are no routes (and no methods).
    for (const path of ['/__proto__', '/constructor', '/toString', '/v2/local/__proto__', '/status/__proto__/x']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
    }
    // Container health checks often use HEAD: GET's headers, no body.
    const head = await fetch(`${server.url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await head.text()).toBe('');
    const status405 = await fetch(`${server.url}/status/some-id`, { method: 'DELETE' });
    expect(status405.status).toBe(405);
    expect(status405.headers.get('allow')).toBe('GET, HEAD, POST');
    // Still serving after all that.
    expect((await endpoint.runSync({ input: request({ seed: 8 }) })).status).toBe('COMPLETED');
  });

  it('refuses a body over the limit with 413 (a huge base64 voice) and keeps serving', async () => {
    const huge = JSON.stringify({ input: { transcript: 'Hi', ref_audio: { base64: 'A'.repeat(26 * 1024 * 1024), transcript: 'Hi' } } });
    const res = await post(`${server.url}/run`, huge);
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/over the \d+ byte limit/);
    const small = await post(`${guarded.url}/runsync`, JSON.stringify({ input: { transcript: 'x'.repeat(100_000) } }), {
      authorization: 'Bearer sekret',
      'content-type': 'application/json',
    });
    expect(small.status).toBe(413);
    expect((await endpoint.runSync({ input: request({ seed: 9 }) })).status).toBe('COMPLETED');
  });

  it('requires the API key when one is set (Bearer or raw), except on the bare /health', async () => {
    expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
    const noKey = await fetch(`${guarded.url}/v2/local/health`);
    expect(noKey.status).toBe(401);
    expect((await noKey.json()).error).toMatch(/API key/);
    expect((await fetch(`${guarded.url}/v2/local/health`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // runpod-sdk sends "Bearer KEY"; RunPod's own worker sends the raw key.
    const sdk = runpodSdk('sekret', { baseUrl: `${guarded.url}/v2` }).endpoint('local')!;
    expect((await sdk.health()).workers).toBeDefined();
    expect((await fetch(`${guarded.url}/v2/local/health`, { headers: { authorization: 'sekret' } })).status).toBe(200);
  });

  it('rate-limits per key with a token bucket (429 with Retry-After)', async () => {
    const limited = await startServer(handler, { port: 0, apiKey: 'k', rateLimitPerMinute: 3 });
    try {
      const get = () => fetch(`${limited.url}/v2/local/health`, { headers: { authorization: 'Bearer k' } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await get()).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      // Requests with a wrong key are refused before they cost the key's tokens.
      expect((await fetch(`${limited.url}/v2/local/health`, { headers: { authorization: 'Bearer x' } })).status).toBe(401);
      const res = await get();
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await res.json()).error).toMatch(/rate limit/);
    } finally {
      await limited.close();
    }
  });
});
