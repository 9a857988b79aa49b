// A job's own bucket where RunPod puts it: `s3Config` beside `input`
// (docs/runpod-protocol.md#job-input), in every mode (platform worker on a fake platform, the
// local API through runpod-sdk, one-shot), uploaded to a real S3 server (s3rver) on loopback. The
// worker has no bucket of its own here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import runpodSdk from 'runpod-sdk';
import S3rver from 's3rver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createLogger } from '../../lib/common/log.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { runOneShot } from '../../lib/runpod/oneshot.js';
import { startServer } from '../../lib/server/server.js';
import { runWorker, type RunningWorker } from '../../lib/runpod/worker/worker.js';
import { createS3Delivery } from '../../lib/s3/client.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { FakeRunPod } from '../support/fake-runpod.js';
import { goldensDir } from '../support/goldens.js';
import { rejection } from '../support/rejection.js';

const BUCKET = 'job-bucket';
const input = { transcript: 'Hello there.', seed: 1, max_new_tokens: 30, output: 's3' };

let dir: string;
let s3: S3rver;
let s3Config: { accessId: string; accessSecret: string; bucketName: string; endpointUrl: string };
let handler: TtsHandler;
let tts: HiggsAudio;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'higgs-s3-jobs-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
  const address = await s3.run();
  // s3rver's built-in account.
  s3Config = { accessId: 'S3RVER', accessSecret: 'S3RVER', bucketName: BUCKET, endpointUrl: `http://127.0.0.1:${address.port}` };
  tts = new HiggsAudio({
    config: { modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 2048, maxConcurrency: 1 },
    logger: createLogger({ level: 'silent' }),
  });
  // No BUCKET_* variables: only the job's s3Config can say where the audio goes. Its endpoint is
  // on loopback, which a job may reach only because the operator allows it.
  handler = createTtsHandler(tts, createS3Delivery({ HIGGS_S3_ALLOWED_ENDPOINTS: `127.0.0.1:${address.port}` }));
  await handler.ready();
});

afterAll(async () => {
  await handler?.dispose();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The output points at an object in the job's bucket that holds a WAV file. */
async function expectUploaded(output: Record<string, unknown>): Promise<void> {
  expect(output.s3_bucket).toBe(BUCKET);
  expect(output.audio_base64).toBeUndefined();
  const res = await fetch(String(output.audio_url));
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).subarray(0, 4).toString('ascii')).toBe('RIFF');
}

describe('platform worker', () => {
  let fake: FakeRunPod;
  let worker: RunningWorker | undefined;
  afterEach(async () => {
    await worker?.stop();
    await fake?.close();
  });

  it('uploads to the s3Config that RunPod sends beside input', async () => {
    fake = await new FakeRunPod().start();
    worker = runWorker(handler, { handleSignals: false, logWrite: () => undefined, env: fake.env() });
    fake.enqueue({ id: 'job-s3', input, s3Config });
    await fake.waitFor(() => fake.result('job-s3') !== undefined, 60_000);
    const result = fake.result('job-s3') as { output?: Record<string, unknown>; error?: string };
    expect(result.error).toBeUndefined();
    await expectUploaded(result.output!);
  });
});

describe('local API server', () => {
  it('takes s3Config beside input from runpod-sdk, and inside input as before', async () => {
    const server = await startServer(handler, { port: 0 });
    try {
      const endpoint = runpodSdk('any-key', { baseUrl: `${server.url}/v2` }).endpoint('local')!;
      const beside = (await endpoint.runSync({ input, s3Config })) as { status: string; output: Record<string, unknown> };
      expect(beside.status).toBe('COMPLETED');
      await expectUploaded(beside.output);

      const inside = (await endpoint.runSync({ input: { ...input, s3Config } })) as { status: string; output: Record<string, unknown> };
      expect(inside.status).toBe('COMPLETED');
      await expectUploaded(inside.output);
    } finally {
      await server.close();
    }
  });

  it('refuses an s3Config given both beside and inside input, before any generation', async () => {
    const server = await startServer(handler, { port: 0 });
    try {
      const res = await fetch(`${server.url}/runsync`, { method: 'POST', body: JSON.stringify({ input: { ...input, s3Config }, s3Config }) });
      const view = (await res.json()) as { status: string; error: string; executionTime: number };
      expect(view.status).toBe('FAILED');
      const error = JSON.parse(view.error) as { error_type: string; error_message: string };
      expect(error.error_type).toBe('E_INPUT');
      expect(error.error_message).toMatch(/^s3Config: given both/);
    } finally {
      await server.close();
    }
  });
});

describe('a job endpoint the operator did not allow', () => {
  it('fails the job with E_INPUT before any audio is generated, and nothing reaches the endpoint', async () => {
    const strict = createTtsHandler(tts, createS3Delivery({}));
    const served = tts.health().requests.served;
    for (const endpointUrl of [s3Config.endpointUrl, s3Config.endpointUrl.replace('127.0.0.1', 'localhost'), 'http://10.1.2.3:9000', 'http://169.254.169.254']) {
      const error = await rejection(strict.run({ ...input, s3Config: { ...s3Config, endpointUrl } }, { id: 'j', signal: new AbortController().signal }));
      expect(error.code, endpointUrl).toBe('E_INPUT');
      expect(error.message).toMatch(/loopback, private, link-local or metadata address; the operator can allow the host in HIGGS_S3_ALLOWED_ENDPOINTS/);
    }
    // No bucket anywhere for an "s3" output: said before the work too.
    const none = await rejection(strict.run(input, { id: 'j', signal: new AbortController().signal }));
    expect(none).toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(/no S3 bucket is configured/) });
    expect(tts.health().requests.served).toBe(served);
  });
});

describe('one-shot test input', () => {
  it('uploads to the s3Config beside input in the test job', async () => {
    let printed = '';
    const status = await runOneShot(handler, JSON.stringify({ input, s3Config }), { stdout: { write: (t: string) => (printed += t) } });
    const line = JSON.parse(printed) as { status: string; output: Record<string, unknown> };
    expect(line.status).toBe('COMPLETED');
    expect(status).toBe(0);
    await expectUploaded(line.output);
  });
});
