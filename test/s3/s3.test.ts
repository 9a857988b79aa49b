/**
 * S3 delivery against a real S3 server (s3rver) on loopback: round trips through presigned URLs,
 * multipart uploads, per-job s3Config, failures as HiggsError without secrets, safe keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HiggsError } from '../../lib/common/errors.js';
import { rejection } from '../support/rejection.js';
import { createS3Delivery } from '../../lib/s3/client.js';
import { parseEndpoint } from '../../lib/s3/endpoint.js';
import { redact } from '../../lib/s3/errors.js';
import { objectKey, safeJobId } from '../../lib/s3/key.js';

// s3rver's built-in account.
const KEY = 'S3RVER';
const SECRET = 'S3RVER';

let dir: string;
let server: S3rver;
let endpoint: string;
/** Requests seen by the server, as "METHOD /path?query". */
const requests: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'higgs-s3-'));
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: 'audio' }, { name: 'job-bucket' }],
  });
  // Koa composes its middleware on listen, so this one sees every request first.
  (server as unknown as { middleware: unknown[] }).middleware.unshift(async (ctx: { method: string; url: string }, next: () => Promise<void>) => {
    requests.push(`${ctx.method} ${ctx.url}`);
    await next();
  });
  const address = await server.run();
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
  requests.length = 0;
});

const workerEnv = (extra: Record<string, string> = {}) => ({
  HIGGS_S3_BUCKET: 'audio',
  BUCKET_ENDPOINT_URL: endpoint,
  BUCKET_ACCESS_KEY_ID: KEY,
  BUCKET_SECRET_ACCESS_KEY: SECRET,
  // Jobs here name the loopback s3rver as their endpoint: the operator allows it (s3-safety.test.ts refuses it).
  HIGGS_S3_ALLOWED_ENDPOINTS: new URL(endpoint).host,
  ...extra,
});

async function download(url: string): Promise<{ bytes: Buffer; type: string | null }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return { bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
}

function expectNoSecrets(err: HiggsError, secrets: string[]) {
  const everything = `${err.message} ${err.stack ?? ''} ${JSON.stringify(err)} ${String(err.cause ?? '')}`;
  for (const s of secrets) expect(everything).not.toContain(s);
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('S3 delivery round trips', () => {
  it('uploads a small file and serves it through the presigned URL', async () => {
    const delivery = createS3Delivery(workerEnv(), { now: () => new Date('2024-05-06T23:59:00Z') })!;
    const audio = randomBytes(4096);
    const out = await delivery.upload(audio, { jobId: 'job-1', format: 'wav' });
    expect(out).toMatchObject({ bucket: 'audio', key: 'higgs-audio/2024-05-06/job-1.wav', expiresInSeconds: 3600 });
    expect(out.url).toContain('X-Amz-Expires=3600');
    const got = await download(out.url);
    expect(got.bytes.equals(audio)).toBe(true);
    expect(got.type).toBe('audio/wav');
    expect(requests.some((r) => r.includes('uploads'))).toBe(false); // one PutObject
  });

  it('sets the content type per format and takes the bucket from the endpoint path', async () => {
    const env = { BUCKET_ENDPOINT_URL: `${endpoint}/audio`, BUCKET_ACCESS_KEY_ID: KEY, BUCKET_SECRET_ACCESS_KEY: SECRET, HIGGS_S3_URL_EXPIRES: '120' };
    const delivery = createS3Delivery(env, { prefix: 'out' })!;
    const types = { flac: 'audio/flac', mp3: 'audio/mpeg', opus: 'audio/ogg', vorbis: 'audio/ogg' };
    for (const [format, type] of Object.entries(types)) {
      const out = await delivery.upload(Buffer.from(format), { jobId: 'j', format });
      expect(out.bucket).toBe('audio');
      expect(out.key.startsWith('out/')).toBe(true);
      expect(out.expiresInSeconds).toBe(120);
      expect((await download(out.url)).type).toBe(type);
    }
  });

  it('uses the AWS default credential chain without BUCKET_* keys', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', KEY);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET);
    const delivery = createS3Delivery({ HIGGS_S3_BUCKET: 'audio', BUCKET_ENDPOINT_URL: endpoint })!;
    const out = await delivery.upload(Buffer.from('chain'), { jobId: 'chain', format: 'wav' });
    expect((await download(out.url)).bytes.toString()).toBe('chain');
  });

  it('sends a large file as a multipart upload in 8 MB parts', async () => {
    const delivery = createS3Delivery(workerEnv())!;
    const audio = randomBytes(20 * 1024 * 1024);
    const out = await delivery.upload(audio, { jobId: 'big', format: 'flac' });
    expect(requests.filter((r) => r.startsWith('POST') && /[?&]uploads\b/.test(r))).toHaveLength(1); // CreateMultipartUpload
    expect(requests.filter((r) => r.startsWith('PUT') && r.includes('partNumber='))).toHaveLength(3);
    const got = await download(out.url);
    expect(got.bytes.length).toBe(audio.length);
    expect(createHash('sha256').update(got.bytes).digest('hex')).toBe(createHash('sha256').update(audio).digest('hex'));
    expect(got.type).toBe('audio/flac');
  });

  it('lets a per-job s3Config override the worker bucket', async () => {
    const delivery = createS3Delivery(workerEnv({ HIGGS_S3_BUCKET: 'no-such-bucket' }))!;
    const s3Config = { accessId: KEY, accessSecret: SECRET, bucketName: 'job-bucket', endpointUrl: endpoint, objectPath: 'tenant/../a' };
    const out = await delivery.upload(Buffer.from('mine'), { jobId: 'job-2', format: 'mp3', s3Config });
    expect(out.bucket).toBe('job-bucket');
    expect(out.key).toMatch(/^tenant\/a\/\d{4}-\d{2}-\d{2}\/job-2\.mp3$/);
    expect(new URL(out.url).pathname.startsWith('/job-bucket/')).toBe(true);
    expect((await download(out.url)).bytes.toString()).toBe('mine');
  });
});

describe('S3 delivery failures', () => {
  it('reports a missing bucket', async () => {
    const delivery = createS3Delivery(workerEnv({ HIGGS_S3_BUCKET: 'no-such-bucket' }))!;
    const err = await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav' }));
    expect(err.code).toBe('E_INTERNAL'); // the worker's settings are wrong, not the request
    expect(err.message).toMatch(/^S3 upload to bucket "no-such-bucket" failed: NoSuchBucket/);

    const s3Config = { accessId: KEY, accessSecret: SECRET, bucketName: 'no-such-bucket', endpointUrl: endpoint };
    const jobErr = await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav', s3Config }));
    expect(jobErr.code).toBe('E_INPUT'); // the job named it
  });

  it('reports wrong credentials without revealing them', async () => {
    const wrongKey = 'AKIAWRONGKEY00001234';
    const wrongSecret = 'wrong/secret+value0123456789';
    const delivery = createS3Delivery(workerEnv({ BUCKET_ACCESS_KEY_ID: wrongKey, BUCKET_SECRET_ACCESS_KEY: wrongSecret }))!;
    const err = await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav' }));
    expect(err.code).toBe('E_INTERNAL');
    expect(err.message).toMatch(/InvalidAccessKeyId \(HTTP 403\)/);
    expectNoSecrets(err, [wrongKey, wrongSecret]);

    // s3rver checks only the key id of SigV4 requests, so a job's wrong key id stands in for both.
    const jobKey = 'AKIAJOBKEY0000005678';
    const jobSecret = 'job-secret-987654';
    const s3Config = { accessId: jobKey, accessSecret: jobSecret, bucketName: 'audio', endpointUrl: endpoint };
    const jobErr = await rejection(createS3Delivery({ HIGGS_S3_ALLOWED_ENDPOINTS: new URL(endpoint).host })!.upload(Buffer.from('x'), { jobId: 'a', format: 'wav', s3Config }));
    expect(jobErr.code).toBe('E_INPUT');
    expect(jobErr.message).toMatch(/InvalidAccessKeyId/);
    expectNoSecrets(jobErr, [jobKey, jobSecret]);
  });

  it('reports an unreachable endpoint', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const delivery = createS3Delivery(workerEnv({ BUCKET_ENDPOINT_URL: dead, BUCKET_SECRET_ACCESS_KEY: 'secret-for-dead-endpoint' }))!;
    const err = await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav' }));
    expect(err.code).toBe('E_INTERNAL');
    expect(err.message).toBe(`S3 upload to bucket "audio" failed: cannot reach the S3 endpoint at ${dead} (ECONNREFUSED)`);
    expectNoSecrets(err, ['secret-for-dead-endpoint']);
  });

  it('rejects uploads with no bucket anywhere, and bad s3Config, as input errors', async () => {
    const none = await rejection(createS3Delivery({})!.upload(Buffer.from('x'), { jobId: 'a', format: 'wav' }));
    expect(none.code).toBe('E_INPUT');
    expect(none.message).toMatch(/no S3 bucket is configured/);
    expect(createS3Delivery({}, { allowJobConfig: false })).toBeNull();

    const delivery = createS3Delivery(workerEnv())!;
    const leaky = { accessId: KEY, accessSecret: SECRET, bucketName: 'audio', endpointUrl: 'http://user:hunter2-pass@127.0.0.1:1' };
    const bad = await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav', s3Config: leaky }));
    expect(bad.code).toBe('E_INPUT');
    expect(bad.message).toMatch(/^s3Config: endpointUrl must not carry credentials/);
    expectNoSecrets(bad, ['hunter2-pass']);

    const keyless = { bucketName: 'audio', endpointUrl: endpoint };
    expect((await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav', s3Config: keyless }))).message).toMatch(/accessId and accessSecret are required/);
    expect((await rejection(delivery.upload(Buffer.from('x'), { jobId: 'a', format: 'wav', s3Config: 'bucket' }))).code).toBe('E_INPUT');
  });

  it('reports half-set worker credentials as a configuration error', async () => {
    const env = { HIGGS_S3_BUCKET: 'audio', BUCKET_ACCESS_KEY_ID: 'AKIAONLYKEY000000' };
    const err = await rejection(createS3Delivery(env)!.upload(Buffer.from('x'), { jobId: 'a', format: 'wav' }));
    expect(err.code).toBe('E_INTERNAL');
    expect(err.message).toMatch(/must be set together/);
    expectNoSecrets(err, ['AKIAONLYKEY000000']);
  });
});

describe('S3 object keys', () => {
  it('keeps hostile and long job ids to one safe segment', async () => {
    const day = new Date('2024-01-02T03:04:05Z');
    const traversal = objectKey('higgs-audio', '../../x', 'wav', day);
    expect(traversal).toMatch(/^higgs-audio\/2024-01-02\/x-[0-9a-f]{10}\.wav$/);
    expect(safeJobId('../a')).not.toBe(safeJobId('__a'));
    expect(safeJobId('sync-123e4567-e89b')).toBe('sync-123e4567-e89b');
    const long = safeJobId('a'.repeat(5000));
    expect(long.length).toBeLessThanOrEqual(96 + 11);
    expect(objectKey('', 'a?b#c/d', 'weird', day)).toMatch(/^2024-01-02\/a_b_c_d-[0-9a-f]{10}\.bin$/);

    const delivery = createS3Delivery(workerEnv())!;
    for (const jobId of ['../../x', 'é'.repeat(300), '..']) {
      const out = await delivery.upload(Buffer.from(jobId), { jobId, format: 'wav' });
      expect(out.key.split('/')).toHaveLength(3);
      expect(out.key).not.toContain('..');
      expect((await download(out.url)).bytes.toString()).toBe(jobId);
    }
  });

  it('splits endpoint URLs into endpoint, bucket and region', () => {
    expect(parseEndpoint('https://my-bucket.s3.eu-west-1.amazonaws.com')).toEqual({ endpoint: undefined, bucket: 'my-bucket', region: 'eu-west-1' });
    expect(parseEndpoint('https://s3.amazonaws.com/my-bucket')).toEqual({ endpoint: undefined, bucket: 'my-bucket', region: undefined });
    expect(parseEndpoint('https://my-bucket.nyc3.digitaloceanspaces.com')).toEqual({ endpoint: 'https://nyc3.digitaloceanspaces.com', bucket: 'my-bucket', region: 'nyc3' });
    expect(parseEndpoint('https://b.s3.us-west-004.backblazeb2.com')).toEqual({ endpoint: 'https://s3.us-west-004.backblazeb2.com', bucket: 'b', region: 'us-west-004' });
    expect(parseEndpoint('https://acct.r2.cloudflarestorage.com')).toEqual({ endpoint: 'https://acct.r2.cloudflarestorage.com', bucket: undefined });
    expect(() => parseEndpoint('ftp://x')).toThrow(/http/);
    expect(() => parseEndpoint('http://h/a/b')).toThrow(/one bucket/);
  });

  it('cuts signed query strings out of messages', () => {
    const text = 'failed at https://h/b/k?X-Amz-Credential=AKIA123%2F&X-Amz-Signature=abc for KEY123';
    expect(redact(text, ['KEY123'])).toBe('failed at https://h/b/k?… for ***');
  });
});
