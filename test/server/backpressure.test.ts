// Streamed answers wait for a slow client on loopback: many backpressure waits leave no listener
// behind on the response (a leak Node reports as MaxListenersExceededWarning), every byte arrives
// in order, and a client that hangs up ends the wait with false instead of hanging the writer.
import { once } from 'node:events';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeWithBackpressure } from '../../lib/server/http.js';

const CHUNK = 256 * 1024;
const CHUNKS = 40; // ~10 MB: far past the socket buffers, so most writes wait for a drain

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A server whose one answer is written by `write`; gives its port and the writer's outcome. */
async function serve<T>(write: (res: ServerResponse) => Promise<T>): Promise<{ port: number; outcome: Promise<T> }> {
  let settle!: (outcome: Promise<T>) => void;
  const outcome = new Promise<T>((resolve) => (settle = (written) => resolve(written)));
  const server = createServer((_req, res) => settle(write(res)));
  close = () => new Promise((done) => server.close(() => done()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, outcome };
}

const chunkBytes = (i: number) => Buffer.alloc(CHUNK, i % 251);

describe('writeWithBackpressure', () => {
  it('waits for a slow reader many times and takes its listeners off after each wait', async () => {
    let waits = 0;
    const { port, outcome } = await serve(async (res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.on('drain', () => waits++); // before the baseline: this one stays
      const baseline = { close: res.listenerCount('close'), drain: res.listenerCount('drain'), error: res.listenerCount('error') };
      for (let i = 0; i < CHUNKS; i++) {
        expect(await writeWithBackpressure(res, chunkBytes(i))).toBe(true);
      }
      const after = { close: res.listenerCount('close'), drain: res.listenerCount('drain'), error: res.listenerCount('error') };
      res.end();
      return { baseline, after };
    });

    const received = await new Promise<Buffer>((resolve, reject) => {
      request({ port, host: '127.0.0.1' }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => {
          parts.push(part);
          res.pause(); // a slow client: the server's buffers fill between reads
          setTimeout(() => res.resume(), 1);
        });
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    const { baseline, after } = await outcome;

    expect(waits).toBeGreaterThan(CHUNKS / 2);
    expect(after).toEqual(baseline);
    expect(received.length).toBe(CHUNK * CHUNKS);
    for (let i = 0; i < CHUNKS; i++) expect(received[i * CHUNK]).toBe(i % 251);
  });

  it('answers false once the client hangs up during a wait', async () => {
    const { port, outcome } = await serve(async (res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < CHUNKS; i++) {
        if (!(await writeWithBackpressure(res, chunkBytes(i)))) return { stoppedAt: i as number | null, destroyed: res.destroyed };
      }
      res.end();
      return { stoppedAt: null, destroyed: res.destroyed };
    });
    await new Promise<void>((resolve) => {
      const req = request({ port, host: '127.0.0.1' }, (res) => {
        res.once('data', () => {
          req.destroy(); // hang up after the first bytes, never reading the rest
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
    });
    const result = await outcome;
    expect(result.stoppedAt).not.toBeNull();
    expect(result.stoppedAt!).toBeLessThan(CHUNKS);
    expect(result.destroyed).toBe(true);
  });
});
