/**
 * S3 uploads that end and go only where they may, on loopback: a black-holed endpoint (a listener
 * that accepts and never answers) fails the upload within its bounds; a job's endpoint on
 * loopback, private or metadata addresses (in every spelling) is refused before any byte is sent
 * to it, unless the operator allows the host; redirects are not followed. The store is s3rver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpGet } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../support/rejection.js';
import { isRefusedAddress, parseAllowedEndpoints } from '../../lib/s3/address-policy.js';
import { guardedAgents } from '../../lib/s3/guard.js';
import { createS3Delivery } from '../../lib/s3/client.js';

const KEY = 'S3RVER';
let dir: string;
let s3: S3rver;
let port: number;
/** Requests s3rver saw, as "METHOD /path". */
const seen: string[] = [];

/** A TCP listener that accepts and never answers; counts connections and bytes. */
async function blackHole(): Promise<{ server: Server; port: number; connections: () => number; bytes: () => number }> {
  let connections = 0;
  let bytes = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    connections += 1;
    sockets.push(socket);
    socket.on('data', (chunk) => (bytes += chunk.length));
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, connections: () => connections, bytes: () => bytes };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'higgs-s3-safety-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: 'audio' }] });
  (s3 as unknown as { middleware: unknown[] }).middleware.unshift(async (ctx: { method: string; url: string }, next: () => Promise<void>) => {
    seen.push(`${ctx.method} ${ctx.url}`);
    await next();
  });
  port = (await s3.run()).port;
});

afterAll(async () => {
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const job = (endpointUrl: string) => ({ accessId: KEY, accessSecret: KEY, bucketName: 'audio', endpointUrl });
const meta = (s3Config?: unknown) => ({ jobId: 'j', format: 'wav', s3Config });

describe('uploads end', () => {
  it('fails an upload to an endpoint that never answers, within the request bound and its retries', async () => {
    const hole = await blackHole();
    try {
      const env = { HIGGS_S3_BUCKET: 'audio', BUCKET_ENDPOINT_URL: `http://127.0.0.1:${hole.port}`, BUCKET_ACCESS_KEY_ID: KEY, BUCKET_SECRET_ACCESS_KEY: KEY };
      const delivery = createS3Delivery(env, { requestTimeoutMs: 300 })!;
      const started = Date.now();
      const err = await rejection(delivery.upload(Buffer.from('audio'), meta()));
      expect(err.code).toBe('E_INTERNAL'); // the worker's own endpoint
      expect(err.message).toBe(`S3 upload to bucket "audio" failed: the S3 endpoint at http://127.0.0.1:${hole.port} did not answer in time (3 attempts)`);
      expect(hole.connections()).toBe(3);
      console.log(`black-holed upload failed after ${Date.now() - started} ms`);
    } finally {
      hole.server.close();
    }
  });

  it('fails a whole upload that outlasts its deadline, and a job endpoint that hangs is the request fault', async () => {
    const hole = await blackHole();
    try {
      const env = { HIGGS_S3_ALLOWED_ENDPOINTS: `127.0.0.1:${hole.port}` };
      const delivery = createS3Delivery(env, { requestTimeoutMs: 60_000, totalTimeoutMs: 400 })!;
      const err = await rejection(delivery.upload(Buffer.from('audio'), meta(job(`http://127.0.0.1:${hole.port}`))));
      expect(err.code).toBe('E_INPUT');
      expect(err.message).toBe(`S3 upload to bucket "audio" failed: the upload to http://127.0.0.1:${hole.port} did not finish within 0.4 s`);
    } finally {
      hole.server.close();
    }
  });
});

describe('a job endpoint reaches only public addresses', () => {
  const loopbackSpellings = () => [
    `http://127.0.0.1:${port}`,
    `http://localhost:${port}`,
    `http://0x7f000001:${port}`,
    `http://2130706433:${port}`,
    `http://127.1:${port}`,
    `http://[::ffff:127.0.0.1]:${port}`,
    `http://[::1]:${port}`,
  ];

  it('refuses loopback in every spelling, before the upload and inside it, sending nothing', async () => {
    const delivery = createS3Delivery({})!;
    seen.length = 0;
    for (const url of loopbackSpellings()) {
      // One at a time: a second promise made before the first settles could reject unobserved.
      for (const attempt of [() => delivery.check(job(url)), () => delivery.upload(Buffer.from('x'), meta(job(url)))]) {
        const err = await rejection(attempt());
        expect(err.code, url).toBe('E_INPUT');
        expect(err.message, url).toMatch(/^s3Config: endpointUrl host \S+ (is|resolves to \S+, which is) a loopback, private, link-local or metadata address/);
      }
    }
    expect(seen).toEqual([]);
  });

  it('refuses private, link-local, unique-local and metadata addresses', async () => {
    const delivery = createS3Delivery({})!;
    for (const url of ['http://10.0.0.5:9000', 'http://172.16.3.4', 'http://192.168.1.10', 'http://100.100.100.200', 'http://169.254.169.254', 'http://[fd00:ec2::254]', 'http://[fe80::1]', 'http://0.0.0.0:9000']) {
      expect((await rejection(delivery.check(job(url)))).code, url).toBe('E_INPUT');
    }
    expect(isRefusedAddress('64:ff9b::a00:1')).toBe(true); // NAT64 of 10.0.0.1
    expect(isRefusedAddress('2002:a9fe:a9fe::1')).toBe(true); // 6to4 of 169.254.169.254
    expect(isRefusedAddress('52.95.110.1')).toBe(false);
    expect(isRefusedAddress('2600:1f18::1')).toBe(false);
  });

  it('accepts a host the operator allows (with or without its port), and trusts the worker endpoint', async () => {
    for (const allowed of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}, 127.0.0.1:${port}`]) {
      const delivery = createS3Delivery({ HIGGS_S3_ALLOWED_ENDPOINTS: allowed })!;
      await delivery.check(job(`http://127.0.0.1:${port}`));
      const out = await delivery.upload(Buffer.from(allowed), meta(job(`http://127.0.0.1:${port}`)));
      expect(await (await fetch(out.url)).text()).toBe(allowed);
    }
    // Another port of an allowed host:port is not allowed.
    const narrow = createS3Delivery({ HIGGS_S3_ALLOWED_ENDPOINTS: `127.0.0.1:${port + 1}` })!;
    expect((await rejection(narrow.check(job(`http://127.0.0.1:${port}`)))).code).toBe('E_INPUT');
    // BUCKET_ENDPOINT_URL is the operator's own: no allow list needed.
    const worker = createS3Delivery({ HIGGS_S3_BUCKET: 'audio', BUCKET_ENDPOINT_URL: `http://127.0.0.1:${port}`, BUCKET_ACCESS_KEY_ID: KEY, BUCKET_SECRET_ACCESS_KEY: KEY })!;
    expect((await worker.upload(Buffer.from('w'), meta())).bucket).toBe('audio');
    expect(() => parseAllowedEndpoints('a.example, http://b.example/path')).toThrow(/"http:\/\/b.example\/path" is not a host or host:port/);
    const misconfigured = await rejection(createS3Delivery({ HIGGS_S3_ALLOWED_ENDPOINTS: 'x/y' })!.upload(Buffer.from('x'), meta()));
    expect(misconfigured.message).toMatch(/HIGGS_S3_ALLOWED_ENDPOINTS: "x\/y" is not a host or host:port/);
  });

  it('closes a guarded socket that reaches a refused address before it sends a byte', async () => {
    const hole = await blackHole();
    try {
      const { httpAgent } = guardedAgents();
      const error = await new Promise<Error>((resolve) => {
        const req = httpGet({ host: '127.0.0.1', port: hole.port, path: '/', agent: httpAgent }, () => resolve(new Error('answered')));
        req.on('error', resolve);
        req.end('payload');
      });
      expect(error.name).toBe('RefusedAddressError');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(hole.bytes()).toBe(0);
    } finally {
      hole.server.close();
    }
  });

  it('does not follow a redirect to where the job may not go', async () => {
    // An allowed endpoint that answers every request with a redirect to the (refused) s3rver.
    const { createServer: createHttpServer } = await import('node:http');
    const redirector = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `http://127.0.0.1:${port}${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    const redirectPort = (redirector.address() as { port: number }).port;
    try {
      seen.length = 0;
      const delivery = createS3Delivery({ HIGGS_S3_ALLOWED_ENDPOINTS: `127.0.0.1:${redirectPort}` })!;
      const err = await rejection(delivery.upload(Buffer.from('x'), meta(job(`http://127.0.0.1:${redirectPort}`))));
      expect(err.code).toBe('E_INPUT');
      expect(err.message).toMatch(/answered with a redirect \(HTTP 307\), which is not followed/);
      expect(seen).toEqual([]);
    } finally {
      redirector.close();
    }
  });
});
