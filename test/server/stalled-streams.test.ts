// Streamed answers nobody reads (issue 31), on loopback with real sockets and the tiny model,
// one slot (HIGGS_MAX_CONCURRENCY=1): a client that reads a stream's headers and then stops
// reading, keeping its socket open, is cut off once the send timeout passes without progress,
// raw audio and SSE alike; its generation is cancelled, its slot frees, the request that waited
// runs, and /health counts it as cancelled. A client that hangs up mid-stream counts as
// cancelled too, a 429 counts as rejected (not as a failure), a streamed job nobody polls within
// the same timeout is cancelled and counted, and a malformed percent-encoding in any path
// segment is a 400, never a 500. HIGGS_SEND_TIMEOUT_MS is the one setting of that bound.
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer, type ServeOptions } from '../../lib/server/server.js';
import { openTinyService } from '../support/tiny-service.js';
import { runRunpodCommand } from '../../lib/cli/runpod.js';
import { CONNECTION_LIMITS, SEND_TIMEOUT_RANGE } from '../../lib/server/limits.js';
import { JOB_TABLE_LIMITS } from '../../lib/server/job-table.js';

const opened: HiggsAudio[] = [];
let tts: HiggsAudio;
let handler: TtsHandler;
const servers: RunningServer[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The bound these tests set: small, so that a stalled stream is cut within seconds. */
const SEND_TIMEOUT_MS = 1500;

beforeAll(async () => {
  // One slot; one more request may wait for it (the second below), a third is refused.
  tts = openTinyService(opened, { maxContext: 8192, maxConcurrency: 1, maxQueue: 1 });
  handler = createTtsHandler(tts, null);
  await handler.ready();
});

/** Raw client sockets: closed after each test, so that a failed test does not hold the slot for the next. */
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await waitFor(() => tts.health().requests.active === 0 && tts.health().requests.queued === 0, 30_000, 'the service idle after the test');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await handler?.dispose();
});

async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const server = await startServer(handler, { port: 0, concurrency: 1, sendTimeoutMs: SEND_TIMEOUT_MS, ...options });
  servers.push(server);
  return server;
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not met in ${ms} ms: ${what}`);
    await sleep(50);
  }
}

/**
 * A speech request whose seeded generation runs to about 2900 frames at 48 kHz, 3.8 KB of PCM a
 * frame: 11 MB, far more than loopback's socket buffers take (about 4 MB here). Its slot stays
 * taken until the stream's last byte is handed off, whether or not the generation still runs.
 */
const longSpeech = (streamFormat: 'audio' | 'sse') => ({
  model: 'tts-1',
  input: 'word '.repeat(400).trim(),
  response_format: 'pcm',
  sample_rate: 48000,
  stream_format: streamFormat,
  seed: 1,
  max_new_tokens: 3000,
});

/**
 * Sends `body` to `path` on a raw socket, reads the status line and headers, then stops
 * reading and keeps the socket open: what is sent after the headers piles up in the socket
 * buffers and then in the server.
 */
function stalledClient(server: RunningServer, path: string, body: unknown): Promise<{ socket: Socket; status: number; head: string }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1', () => {
      sockets.push(socket);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    });
    let received = '';
    const onData = (data: Buffer) => {
      received += data.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause(); // never reads again
      const head = received.slice(0, end);
      resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head });
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', () => reject(new Error('closed before the headers')));
  });
}

const requests = () => tts.health().requests;

/** A short request (read whole as soon as it answers): its status and its size. */
const shortSpeech = async (server: RunningServer): Promise<{ status: number; bytes: number }> => {
  const res = await fetch(`${server.url}/v1/audio/speech`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tts-1', input: 'Hi.', response_format: 'wav', seed: 2, max_new_tokens: 20 }),
  });
  return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
};

/** Reads what is left on a paused socket until it closes; resolves with what came. */
function drainToClose(socket: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  return new Promise((resolve) => {
    socket.on('data', (part: Buffer) => parts.push(part));
    socket.once('close', () => resolve(Buffer.concat(parts)));
    socket.resume();
  });
}

describe('a stream whose client stops reading', () => {
  for (const format of ['audio', 'sse'] as const) {
    it(`closes the connection after the send timeout, frees the slot for the request that waits, and counts it cancelled (stream_format "${format}")`, async () => {
      const server = await serve();
      const before = requests();
      const stalled = await stalledClient(server, '/v1/audio/speech', longSpeech(format));
      expect(stalled.status).toBe(200);
      expect(stalled.head).toMatch(format === 'sse' ? /content-type: text\/event-stream/i : /content-type: audio\/pcm/i);
      expect(requests().active).toBe(1);
      // The slot is taken: this one waits in the queue, a third is refused.
      const waiting = shortSpeech(server);
      await waitFor(() => requests().queued === 1, 10_000, 'the short request queued');
      const refused = await shortSpeech(server);
      expect(refused.status).toBe(429);
      // Cut off once its writes have waited the send timeout: then the waiting one runs.
      expect(await waiting).toMatchObject({ status: 200, bytes: expect.any(Number) });
      // The stalled stream's connection was closed before its end (no last chunk, no done event).
      const rest = await drainToClose(stalled.socket);
      expect(rest.toString('latin1')).not.toMatch(format === 'sse' ? /speech\.audio\.done/ : /\r\n0\r\n/);
      await waitFor(() => requests().active === 0, 10_000, 'no request active');
      const after = requests();
      expect(after.cancelled - before.cancelled).toBe(1);
      expect(after.served - before.served).toBe(1);
      // The 429 was a refusal, not a failure of the engine.
      expect(after.failed - before.failed).toBe(0);
      expect(after.rejected - before.rejected).toBe(1);
      const health = (await (await fetch(`${server.url}/health`)).json()) as { engine: { requests: typeof after } };
      expect(health.engine.requests).toMatchObject({ active: 0, cancelled: after.cancelled, rejected: after.rejected });
    }, 90_000);
  }

  it('counts a stream whose client hangs up mid-stream as cancelled', async () => {
    const server = await serve({ sendTimeoutMs: 60_000 });
    const before = requests();
    const stalled = await stalledClient(server, '/v1/audio/speech', longSpeech('audio'));
    expect(stalled.status).toBe(200);
    await sleep(5000); // the buffers fill: the server waits to write
    stalled.socket.destroy();
    await waitFor(() => requests().active === 0, 20_000, 'no request active');
    expect(requests().cancelled - before.cancelled).toBe(1);
    expect(requests().failed - before.failed).toBe(0);
    expect(await server.connections()).toBe(0);
  }, 60_000);
});

describe('a streamed RunPod job', () => {
  const streamJob = { transcript: 'word '.repeat(400).trim(), seed: 1, max_new_tokens: 4000, chunk_method: 'none', stream: true };
  type Health = { jobs: { cancelled: number; inProgress: number; rejected: number }; engine: { requests: { cancelled: number; active: number } } };
  const health = async (server: RunningServer) => (await (await fetch(`${server.url}/health`)).json()) as Health;

  it('is cancelled when nobody polls /stream within the send timeout, and counted as cancelled', async () => {
    const server = await serve();
    const before = await health(server);
    const { id } = (await (await fetch(`${server.url}/run`, { method: 'POST', body: JSON.stringify({ input: streamJob }) })).json()) as { id: string };
    await waitFor(async () => ((await (await fetch(`${server.url}/status/${id}`)).json()) as { status: string }).status === 'CANCELLED', 20_000, 'the job cancelled');
    const view = (await (await fetch(`${server.url}/status/${id}`)).json()) as { error: string };
    expect(view.error).toBe(`cancelled: nobody polled /stream/${id} for ${SEND_TIMEOUT_MS / 1000} s`);
    await waitFor(async () => (await health(server)).engine.requests.active === 0, 20_000, 'the slot freed');
    const after = await health(server);
    expect(after.jobs.cancelled - before.jobs.cancelled).toBe(1);
    expect(after.jobs.inProgress).toBe(0);
    expect(after.engine.requests.cancelled - before.engine.requests.cancelled).toBe(1);
  }, 60_000);

  it('is not cancelled while a /runsync client waits for it', async () => {
    const server = await serve({ streamIdleMs: 500 });
    // Seconds of generation: several times the bound.
    const job = { transcript: 'word '.repeat(100).trim(), seed: 1, max_new_tokens: 1000, chunk_method: 'none', stream: true };
    const answer = (await (await fetch(`${server.url}/runsync`, { method: 'POST', body: JSON.stringify({ input: job }) })).json()) as { status: string; error?: string };
    expect(answer).toMatchObject({ status: 'COMPLETED' });
  }, 60_000);

  it('counts a /run refused with 429 as rejected', async () => {
    const server = await serve({ maxQueue: 0 });
    const before = await health(server);
    const { id } = (await (await fetch(`${server.url}/run`, { method: 'POST', body: JSON.stringify({ input: { ...streamJob, stream: false } }) })).json()) as { id: string };
    const refused = await fetch(`${server.url}/run`, { method: 'POST', body: JSON.stringify({ input: streamJob }) });
    expect(refused.status).toBe(429);
    await fetch(`${server.url}/cancel/${id}`, { method: 'POST' });
    const after = await health(server);
    expect(after.jobs.rejected - before.jobs.rejected).toBe(1);
    expect(after.jobs.cancelled - before.jobs.cancelled).toBe(1);
    await waitFor(async () => (await health(server)).engine.requests.active === 0, 20_000, 'the slot freed');
  }, 60_000);
});

describe('malformed percent-encoding in a path', () => {
  it('is a 400 on every route that takes an id, in each API shape', async () => {
    const server = await serve();
    const bad = '%E0%A4%A';
    const cases: [string, string][] = [
      ['DELETE', `/v1/audio/voices/${bad}`],
      ['GET', `/status/${bad}`],
      ['POST', `/status/${bad}`],
      ['GET', `/status-sync/${bad}`],
      ['GET', `/stream/${bad}`],
      ['POST', `/cancel/${bad}`],
      ['GET', `/v2/endpoint/status/${bad}`],
      ['POST', `/v2/endpoint/cancel/${bad}`],
    ];
    for (const [method, path] of cases) {
      const res = await fetch(`${server.url}${path}`, { method });
      const body = (await res.json()) as { error: unknown };
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 400 });
      if (path.startsWith('/v1/')) expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/malformed/i) });
      else expect(body.error).toMatch(/malformed/i);
    }
  });
});

describe('HIGGS_SEND_TIMEOUT_MS', () => {
  it('is one bound with one default, for answers and for streamed jobs nobody polls', () => {
    expect(CONNECTION_LIMITS.sendTimeoutMs).toBe(60_000);
    expect(JOB_TABLE_LIMITS.streamIdleMs).toBe(CONNECTION_LIMITS.sendTimeoutMs);
  });

  it('refuses a value out of range before anything loads, naming the variable', async () => {
    for (const text of ['500', '1500.5', 'soon', String(SEND_TIMEOUT_RANGE.maximum + 1)]) {
      let stderr = '';
      const io = { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) }, stdin: process.stdin, env: { HIGGS_SEND_TIMEOUT_MS: text }, cwd: process.cwd() };
      expect(await runRunpodCommand('serve', ['--port', '0'], io)).toBe(2);
      expect(stderr).toContain(`HIGGS_SEND_TIMEOUT_MS must be a whole number of milliseconds from ${SEND_TIMEOUT_RANGE.minimum} to ${SEND_TIMEOUT_RANGE.maximum} (got ${JSON.stringify(text)})`);
    }
  });
});
