// Bounds of the local API server, on loopback with the real handler over the tiny model: stalled
// request bodies are timed out, connections are capped, answers nobody reads do not stay in
// memory, the queue answers 429 E_BUSY past HIGGS_MAX_QUEUE, the job table forgets inputs once a
// job starts and old outputs beyond its size bound, a /runsync client that hangs up cancels its
// job, a stream nobody polls is cancelled, failed keys are rate-limited per client, every
// loopback address is one client, and the open /health tells only the state.
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createLogger } from '../../lib/common/log.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { JobTable } from '../../lib/server/job-table.js';
import { AUTH_FAILURES_PER_MINUTE, clientKey } from '../../lib/server/auth.js';
import { boundSend } from '../../lib/server/limits.js';
import { startServer, type RunningServer, type ServeOptions } from '../../lib/server/server.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

let handler: TtsHandler;
const servers: RunningServer[] = [];
const rssAtStart = process.memoryUsage().rss;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A job that runs for tens of seconds on the tiny model unless something stops it. */
const longInput = (extra: Record<string, unknown> = {}) => ({ transcript: 'word '.repeat(400).trim(), seed: 1, max_new_tokens: 4000, chunk_method: 'none', ...extra });

beforeAll(async () => {
  const tts = new HiggsAudio({
    config: { modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 8192, maxConcurrency: 1, maxQueue: 64 },
    logger: createLogger({ level: 'silent' }),
  });
  handler = createTtsHandler(tts, null);
  await handler.ready();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await handler?.dispose();
  console.log(`serve limits: RSS ${mb(rssAtStart)} before, ${mb(process.memoryUsage().rss)} after`);
});

async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const server = await startServer(handler, { port: 0, ...options });
  servers.push(server);
  return server;
}

const portOf = (server: RunningServer) => Number(new URL(server.url).port);

/** Opens `count` raw connections, each sending `text` (and nothing more). */
async function rawClients(server: RunningServer, count: number, text: string): Promise<{ sockets: Socket[]; closed: () => number }> {
  // The close of a socket that reads nothing is never seen: callers that pause count on the server.
  let closed = 0;
  const sockets = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<Socket>((resolve) => {
        const socket = connect(portOf(server), '127.0.0.1', () => {
          if (text) socket.write(text);
          resolve(socket);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => (closed += 1));
        socket.resume(); // read what the server says, so that its close is seen
      }),
    ),
  );
  return { sockets, closed: () => closed };
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

describe('connections', () => {
  it('closes connections whose request body stalls, once the request timeout passes', async () => {
    const server = await serve({ requestTimeoutMs: 600, headersTimeoutMs: 600 });
    const rss = process.memoryUsage().rss;
    const { sockets, closed } = await rawClients(server, 50, 'POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"in');
    expect(sockets).toHaveLength(50);
    await waitFor(() => closed() === 50, 5000);
    expect(await server.connections()).toBe(0);
    console.log(`50 stalled bodies: RSS ${mb(rss)} -> ${mb(process.memoryUsage().rss)}`);
    // Still serving.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('caps open connections', async () => {
    const server = await serve({ maxConnections: 8 });
    const { closed } = await rawClients(server, 12, '');
    await waitFor(() => closed() === 4, 3000);
    expect(await server.connections()).toBe(8);
  });

  it('closes connections that never read a large answer, keeping one copy of the output', async () => {
    // What the kernel took is closed by the keep-alive timeout, what it did not by the send timeout.
    const server = await serve({ sendTimeoutMs: 1000, keepAliveTimeoutMs: 1000 });
    // Megabytes of WAV in the answer (the tiny model ends where it ends).
    const res = await fetch(`${server.url}/runsync`, { method: 'POST', body: JSON.stringify({ input: longInput({ max_new_tokens: 2600 }) }) });
    const done = (await res.json()) as { id: string; status: string; output: { audio_base64: string } };
    expect(done.status).toBe('COMPLETED');
    const size = done.output.audio_base64.length;
    expect(size).toBeGreaterThan(1_000_000);
    const rss = process.memoryUsage().rss;
    const { sockets, closed } = await rawClients(server, 60, `GET /status/${done.id} HTTP/1.1\r\nHost: x\r\n\r\n`);
    for (const socket of sockets) socket.pause(); // never read
    await sleep(300);
    const during = process.memoryUsage().rss;
    await waitFor(async () => (await server.connections()) === 0, 8000);
    console.log(`60 unread ${mb(size)} answers: RSS ${mb(rss)} -> ${mb(during)} while pending -> ${mb(process.memoryUsage().rss)} after the send timeout`);
    expect(during - rss).toBeLessThan(0.25 * 60 * size); // one shared output, not 60 copies
    sockets.forEach((s) => s.destroy());
  });

  it('closes a connection whose answer stays unsent past the send timeout, however long keep-alive is', async () => {
    // More than a loopback socket's buffers take: the rest waits in the process until it is dropped.
    const http = createHttpServer((_req, res) => {
      res.end(Buffer.alloc(64 * 1024 * 1024, 1));
      boundSend(res, 500);
    });
    http.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connect((http.address() as { port: number }).port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.pause();
      const count = () => new Promise<number>((resolve) => http.getConnections((_e, n) => resolve(n)));
      await sleep(200);
      expect(await count()).toBe(1);
      await waitFor(async () => (await count()) === 0, 3000);
      socket.destroy();
    } finally {
      http.close();
    }
  });
});

describe('queue and job table', () => {
  it('answers 429 E_BUSY beyond the queue limit and serves again once there is room', async () => {
    const server = await serve({ concurrency: 1, maxQueue: 2 });
    const run = async () => (await fetch(`${server.url}/run`, { method: 'POST', body: JSON.stringify({ input: longInput() }) })).json() as Promise<{ id?: string; status?: string; code?: string; error?: string }>;
    const started = [await run(), await run(), await run()];
    expect(started.map((j) => j.status)).toEqual(['IN_PROGRESS', 'IN_QUEUE', 'IN_QUEUE']);
    const refused = await fetch(`${server.url}/run`, { method: 'POST', body: JSON.stringify({ input: longInput() }) });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ code: 'E_BUSY', error: expect.stringMatching(/2 jobs are already waiting/) });
    await fetch(`${server.url}/cancel/${started[1]!.id}`, { method: 'POST' });
    expect((await run()).status).toBe('IN_QUEUE');
    for (const job of started) await fetch(`${server.url}/cancel/${job.id}`, { method: 'POST' });
  });

  it('keeps an input only until its job starts, and old outputs only within the size bound', () => {
    const table = new JobTable({ maxOutputBytes: 1000 });
    try {
      const big = { transcript: 'x'.repeat(100_000) };
      const job = table.create(big, 'run', false);
      expect(table.start(job)).toEqual({ input: big });
      expect(job.input).toBeUndefined();
      const queued = table.create(big, 'run', false);
      table.cancel(queued);
      expect(queued.input).toBeUndefined();

      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const j = table.create({}, 'run', false);
        table.start(j);
        table.complete(j, { audio: 'a'.repeat(390) });
        ids.push(j.id);
      }
      // 400 bytes each: the two newest fit in 1000.
      expect(ids.map((id) => table.get(id) !== undefined)).toEqual([false, false, false, true, true]);
      expect(table.counts().forgotten).toBe(3);
      expect(Buffer.concat(table.answer(table.get(ids[4]!)!).map((p) => Buffer.from(p))).toString()).toMatch(/"output":\{"audio":"a{390}"\}\}$/);
    } finally {
      table.close();
    }
  });
});

describe('jobs nobody waits for', () => {
  it('cancels a /runsync job whose client hangs up', async () => {
    const server = await serve();
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${server.url}/runsync`, { method: 'POST' }, () => undefined);
      req.on('error', () => resolve());
      req.end(JSON.stringify({ input: longInput() }));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 800);
    });
    const health = async () => ((await (await fetch(`${server.url}/health`)).json()) as { jobs: { inProgress: number; inQueue: number } }).jobs;
    await waitFor(async () => (await health()).inProgress === 0, 5000);
    // The next job is not held up behind it.
    const next = await fetch(`${server.url}/runsync`, { method: 'POST', body: JSON.stringify({ input: { transcript: 'Hi.', max_new_tokens: 20, seed: 2 } }) });
    expect(((await next.json()) as { status: string }).status).toBe('COMPLETED');
  });

  it('cancels a streamed job that nobody polls', async () => {
    const server = await serve({ streamIdleMs: 400 });
    const { id } = (await (await fetch(`${server.url}/run`, { method: 'POST', body: JSON.stringify({ input: longInput({ stream: true }) }) })).json()) as { id: string };
    await waitFor(async () => ((await (await fetch(`${server.url}/status/${id}`)).json()) as { status: string }).status === 'CANCELLED', 5000);
    const view = (await (await fetch(`${server.url}/status/${id}`)).json()) as { error: string };
    expect(view.error).toBe(`cancelled: nobody polled /stream/${id} for 0.4 s`);
  });
});

describe('authentication and client identity', () => {
  it('rate-limits wrong keys per client, and every loopback address is one client', async () => {
    const server = await serve({ apiKey: 'sekret' });
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE + 5; i += 1) {
      const res = await fetch(`${server.url}/v2/x/health`, { headers: { authorization: `Bearer guess-${i}` } }).catch(() => null);
      statuses.push(res?.status ?? 0);
    }
    expect(statuses.slice(0, AUTH_FAILURES_PER_MINUTE)).toEqual(Array(AUTH_FAILURES_PER_MINUTE).fill(401));
    expect(statuses.slice(AUTH_FAILURES_PER_MINUTE)).toEqual(Array(5).fill(429));
    // Another loopback address is the same client.
    expect(await statusFrom(server, '/v2/x/health', '127.0.0.2')).toBe(429);
    expect([clientKey('127.0.0.1'), clientKey('127.9.9.9'), clientKey('::1'), clientKey('::ffff:127.0.0.1')]).toEqual(Array(4).fill('loopback'));
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:bbbb:cccc::9'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
    expect(clientKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });

  it('limits requests per client without a key, whatever loopback address they come from', async () => {
    const server = await serve({ rateLimitPerMinute: 3 });
    const codes = [await statusFrom(server, '/v2/x/health', '127.0.0.1'), await statusFrom(server, '/v2/x/health', '127.0.0.2'), await statusFrom(server, '/v2/x/health', '127.0.0.3'), await statusFrom(server, '/v2/x/health', '127.0.0.4')];
    expect(codes).toEqual([200, 200, 200, 429]);
  });

  it('tells the open /health only the state when a key is set', async () => {
    const server = await serve({ apiKey: 'sekret' });
    const open = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    expect(open).toEqual({ status: 'ready' });
    expect(JSON.stringify(open)).not.toContain(tinyHfDir);
    const full = (await (await fetch(`${server.url}/health`, { headers: { authorization: 'Bearer sekret' } })).json()) as { engine: { model: { tokenizer: string } } };
    expect(full.engine.model.tokenizer).toContain(tinyHfDir);
  });
});

/** The status of a GET sent from a given local address. */
function statusFrom(server: RunningServer, path: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: portOf(server), path, localAddress }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
