// The RunPod platform worker against a fake platform on loopback (test/support/fake-runpod.ts)
// and the real TTS handler over the tiny model: every wire detail of runpod-python 1.12
// (docs/runpod-protocol.md#platform-worker), retries, heartbeats, the stop channel, batches, streaming,
// bad inputs, draining, and 50 concurrent jobs.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../../lib/service/higgs-audio.js';
import { createLogger } from '../../../lib/common/log.js';
import { createTtsHandler, type TtsHandler } from '../../../lib/runpod/handler.js';
import { fillWorker, jobUrl, readPlatformEnv, stopUrl, withQuery } from '../../../lib/runpod/env.js';
import { runWorker, type RunningWorker, type WorkerOptions } from '../../../lib/runpod/worker/worker.js';
import { shapeResult } from '../../../lib/runpod/job-result.js';
import { readJobs } from '../../../lib/runpod/worker/take.js';
import { tinyHfDir } from '../../setup/fixture-paths.js';
import { goldensDir } from '../../support/goldens.js';
import { API_KEY, ENDPOINT, FakeRunPod, PingRecorderThread, POD_ID, type FakeJob, type RecordedRequest } from '../../support/fake-runpod.js';

const TIMING = { takeTimeoutMs: 5000, rateLimitMs: 150, errorBackoffMs: 100, maxBackoffMs: 400, stopIdleMs: 50, postRetryDelaysMs: [60, 90], progressIntervalMs: 50 };
const request = (extra: Record<string, unknown> = {}) => ({ transcript: 'Hello there.', seed: 1, max_new_tokens: 30, ...extra });
/** A job of 30 text chunks (about 20 s on 2 cores): it runs until the test stops it. */
const longRequest = () =>
  request({ transcript: Array.from({ length: 60 }, (_, i) => `word${i}`).join(' '), chunk_method: 'word', chunk_max_word_num: 2, max_new_tokens: 200 });

let tts: HiggsAudio;
let handler: TtsHandler;
let fake: FakeRunPod;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  tts = new HiggsAudio({
    config: { modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 2048, maxConcurrency: 4, maxQueue: 64 },
    logger: createLogger({ level: 'silent' }),
  });
  handler = createTtsHandler(tts, null);
});

afterAll(async () => {
  await tts.dispose();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fake?.close();
});

type StartOptions = WorkerOptions & { extraEnv?: Record<string, string> | ((base: string) => Record<string, string>); jobs?: FakeJob[] };

/** A fresh fake platform (with `jobs` queued before the first take) and a worker on it. */
async function start(options: StartOptions = {}): Promise<RunningWorker> {
  fake = await new FakeRunPod().start();
  if (options.jobs) fake.enqueue(...options.jobs);
  const extra = typeof options.extraEnv === 'function' ? options.extraEnv(fake.base) : options.extraEnv;
  const worker = runWorker(handler, { handleSignals: false, logWrite: () => undefined, ...options, env: fake.env(extra), timing: { ...TIMING, ...options.timing } });
  workers.push(worker);
  return worker;
}

const errorOf = (result: Record<string, unknown> | undefined) => JSON.parse(String(result?.error)) as Record<string, string>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('URL templates and result shapes', () => {
  it('fills $ID / $RUNPOD_POD_ID as the SDK and appends queries with ? or &', () => {
    expect(fillWorker('http://h/v2/e/job-take/$ID?gpu=A', 'w1')).toBe('http://h/v2/e/job-take/w1?gpu=A');
    expect(fillWorker('http://h/v2/e/job-take/$RUNPOD_POD_ID', 'w1')).toBe('http://h/v2/e/job-take/w1'); // hub harness shape
    const env = readPlatformEnv({ RUNPOD_WEBHOOK_GET_JOB: 'http://h/job-take/$ID', RUNPOD_WEBHOOK_POST_OUTPUT: 'http://h/job-done/$RUNPOD_POD_ID/$ID?gpu=B', RUNPOD_POD_ID: 'w1' });
    expect(jobUrl(env.doneTemplate, 'job-9')).toBe('http://h/job-done/w1/job-9?gpu=B');
    expect(env.pingUrl).toBeNull(); // no ping URL or key: no heartbeat
    expect(withQuery('http://h/x', { job_in_progress: 0 })).toBe('http://h/x?job_in_progress=0');
    expect(withQuery('http://h/x?gpu=A', { job_id: 'a,b', runpod_version: '1.12.0' })).toBe('http://h/x?gpu=A&job_id=a%2Cb&runpod_version=1.12.0');
    expect(stopUrl('http://h/v2/e/job-take/w1?gpu=A')).toBe('http://h/v2/e/job-stop/w1?gpu=A');
    expect(stopUrl('http://h/v2/e/take/w1')).toBeNull();
    expect(readPlatformEnv({ RUNPOD_WEBHOOK_GET_JOB: 'http://h/job-take/$ID' }).workerId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('shapes handler results exactly as run_job', () => {
    expect(shapeResult({ error: 'bad seed' })).toEqual({ error: 'bad seed' });
    expect(shapeResult({ audio: 'x' })).toEqual({ output: { audio: 'x' } });
    expect(shapeResult({ output: 1 })).toEqual({ output: { output: 1 } });
    expect(shapeResult({ a: 1, refresh_worker: true, error: '' })).toEqual({ output: { a: 1 }, stopPod: true });
    expect(shapeResult('text')).toEqual({ output: 'text' });
    expect(shapeResult([1, 2], true)).toEqual({ output: [1, 2], stopPod: true });
    expect(readJobs([{ id: 'a', input: {} }, { id: 'b' }, 5]).malformed.map((m) => m.id)).toEqual(['b', null]);
  });
});

describe('runWorker on a fake RunPod platform', () => {
  it('takes a job and posts the result with the SDK headers, paths and query parameters', async () => {
    const worker = await start();
    fake.enqueue({ id: 'job-1', input: request() });
    await fake.waitFor(() => fake.result('job-1') !== undefined);
    await fake.waitFor(() => fake.of('ping').length > 0);

    const take = fake.of('take')[0]!;
    expect(take.method).toBe('GET');
    expect(take.path).toBe(`/v2/${ENDPOINT}/job-take/${POD_ID}`);
    expect(take.query).toEqual({ gpu: 'NVIDIA RTX A5000', job_in_progress: '0' });
    expect(take.headers.authorization).toBe(API_KEY); // raw key, no "Bearer "
    expect(take.headers['content-type']).toBe('application/json');
    expect(take.headers['accept-encoding']).toBe('gzip, deflate');
    expect(take.headers['user-agent']).toMatch(/^RunPod-Python-SDK\/1\.12\.0 \(/);

    const done = fake.results().find((r) => r.jobId === 'job-1')!;
    expect(done.method).toBe('POST');
    expect(done.path).toBe(`/v2/${ENDPOINT}/job-done/${POD_ID}/job-1`);
    expect(done.query).toEqual({ gpu: 'NVIDIA RTX A5000', isStream: 'false' });
    expect(done.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(done.headers.charset).toBe('utf-8');
    expect(done.headers['x-request-id']).toBe('job-1');
    expect(done.headers.authorization).toBe(API_KEY);
    const body = done.json as { output: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['output']);
    expect(body.output).toMatchObject({ format: 'wav', sample_rate: 24000, seed: 1 });
    expect(Buffer.from(String(body.output.audio_base64), 'base64').subarray(0, 4).toString()).toBe('RIFF');

    // Progress goes to job-done as IN_PROGRESS, never after the result (runpod-python #250).
    const doneCalls = fake.of('done').filter((r) => r.jobId === 'job-1');
    const progress = doneCalls.filter((r) => (r.json as { status?: string }).status === 'IN_PROGRESS');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.json).toMatchObject({ status: 'IN_PROGRESS', output: { chunk: 1, chunks: 1 } });
    expect(doneCalls.at(-1)).toBe(done);
    // Throttled to one post per 50 ms (counted, not timed: arrival times jitter).
    expect(progress.length).toBeLessThanOrEqual((progress.at(-1)!.at - progress[0]!.at) / 50 + 2);

    // A later take says this worker holds no job; the ping carries the version, the key only.
    const ping = fake.of('ping')[0]!;
    expect(ping.path).toBe(`/v2/${ENDPOINT}/ping/${POD_ID}`);
    expect(ping.query.runpod_version).toBe('1.12.0');
    expect(ping.headers.authorization).toBe(API_KEY);
    // The stop channel polls the take URL with /job-stop/ and the template's own query.
    await fake.waitFor(() => fake.of('stop').length > 0);
    const stop = fake.of('stop')[0]!;
    expect(stop.path).toBe(`/v2/${ENDPOINT}/job-stop/${POD_ID}`);
    expect(stop.query).toEqual({ gpu: 'NVIDIA RTX A5000' });
    await worker.stop();
  });

  it('appends ? to a template without a query (hub harness shape: $RUNPOD_POD_ID)', async () => {
    await start({
      extraEnv: (base) => ({ RUNPOD_WEBHOOK_GET_JOB: `${base}/job-take/$RUNPOD_POD_ID`, RUNPOD_WEBHOOK_POST_OUTPUT: `${base}/job-done/$RUNPOD_POD_ID/$ID` }),
    });
    fake.enqueue({ id: 'job-h', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('job-h') !== undefined);
    expect(fake.of('take')[0]!.path).toBe(`/v2/${ENDPOINT}/job-take/${POD_ID}`);
    expect(fake.of('take')[0]!.rawQuery).toBe('job_in_progress=0');
    expect(fake.results()[0]!.rawQuery).toBe('isStream=false');
  });

  it('retries job-done 3 times in all on 5xx, not on 4xx, and keeps serving', async () => {
    await start();
    fake.inject('done', 500, 503); // job a: third attempt succeeds
    fake.enqueue({ id: 'a', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('a') !== undefined);
    const a = fake.of('done').filter((r) => r.jobId === 'a');
    expect(a.map((r) => r.status)).toEqual([500, 503, 200]);
    expect(a[1]!.at - a[0]!.at).toBeGreaterThanOrEqual(50);
    expect(a[2]!.at - a[1]!.at).toBeGreaterThanOrEqual(80);
    expect(a.map((r) => r.body)).toEqual([a[0]!.body, a[0]!.body, a[0]!.body]);

    fake.inject('done', 502, 502, 502); // job b: lost after 3 attempts
    fake.enqueue({ id: 'b', input: { action: 'health' } });
    await fake.waitFor(() => fake.of('done').filter((r) => r.jobId === 'b').length === 3);
    fake.inject('done', 400); // job c: a 4xx is final
    fake.enqueue({ id: 'c', input: { action: 'health' } });
    await fake.waitFor(() => fake.of('done').some((r) => r.jobId === 'c'));
    fake.enqueue({ id: 'd', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('d') !== undefined);
    expect(fake.of('done').filter((r) => r.jobId === 'b').length).toBe(3);
    expect(fake.of('done').filter((r) => r.jobId === 'c').length).toBe(1);
  });

  it('reads 204, 400 and 429 takes as the SDK and backs off after errors', async () => {
    await start();
    fake.inject('take', 204, 400, 429, 500, 503);
    fake.enqueue({ id: 'late', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('late') !== undefined);
    const takes = fake.of('take');
    expect(takes.slice(0, 6).map((t) => t.status)).toEqual([204, 400, 429, 500, 503, 200]);
    expect(takes[1]!.at - takes[0]!.at).toBeLessThan(100); // 204 and 400: at once
    expect(takes[3]!.at - takes[2]!.at).toBeGreaterThanOrEqual(140); // 429: rateLimitMs
    expect(takes[4]!.at - takes[3]!.at).toBeGreaterThanOrEqual(90); // first error: 100 ms
    expect(takes[5]!.at - takes[4]!.at).toBeGreaterThanOrEqual(190); // then doubled
  });

  it('answers the health job through the handler', async () => {
    await start();
    fake.enqueue({ id: 'health-1', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('health-1') !== undefined);
    const output = (fake.result('health-1') as { output: { health: { status: string; model: unknown } } }).output;
    expect(output.health.status).toBe('ready'); // loaded before the first take
    expect(output.health.model).not.toBeNull();
  });

  it('pings from a worker thread with the in-progress job ids, even while the main thread is blocked', async () => {
    const recorder = await PingRecorderThread.start();
    try {
      const worker = await start({ extraEnv: { RUNPOD_WEBHOOK_PING: recorder.url }, concurrency: 2 });
      fake.enqueue({ id: 'long-a', input: longRequest() }, { id: 'long-b', input: longRequest() });
      await fake.waitFor(() => worker.jobs().length === 2);
      // The ping thread has heard of both jobs (a loaded machine may take a while) before the block.
      const bothSent = async () => (await recorder.pings()).some((p) => p.jobIds?.split(',').length === 2);
      for (let waited = 0; !(await bothSent()); waited += 50) {
        if (waited > 10_000) throw new Error('no ping carried both job ids within 10 s');
        await sleep(50);
      }
      const blockedFrom = Date.now();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // a busy main thread
      const blockedTo = Date.now();
      fake.stopJobs('long-a', 'long-b');
      await fake.waitFor(() => worker.jobs().length === 0);
      await sleep(300);
      const pings = await recorder.pings();
      const during = pings.filter((p) => p.at > blockedFrom + 50 && p.at < blockedTo - 50);
      expect(during.length).toBeGreaterThanOrEqual(3); // every 200 ms
      for (const p of during) expect(p.jobIds?.split(',').sort()).toEqual(['long-a', 'long-b']);
      expect(pings[0]!.path).toBe(`/v2/${ENDPOINT}/ping/${POD_ID}`);
      expect(pings.every((p) => p.version === '1.12.0' && p.authorization === API_KEY)).toBe(true);
      expect(pings.at(-1)!.jobIds).toBeNull(); // idle: job_id left out
    } finally {
      await recorder.close();
    }
  });

  it('cancels a running job from the job-stop channel, posts nothing for it, and keeps the others', async () => {
    const worker = await start({ concurrency: 2 });
    // 'kept' is a few chunks long: it decodes beside 'doomed' (one slot each) for a few seconds.
    const kept = request({ transcript: 'one two three four five six seven eight', chunk_method: 'word', chunk_max_word_num: 2, max_new_tokens: 200 });
    fake.enqueue({ id: 'doomed', input: longRequest() }, { id: 'kept', input: kept });
    // While both run, pings name them; the comma of two ids is URL-encoded.
    const namesBoth = (p: RecordedRequest) => p.rawQuery.includes('job_id=doomed%2Ckept') || p.rawQuery.includes('job_id=kept%2Cdoomed');
    await fake.waitFor(() => fake.of('ping').some(namesBoth), 20_000, 'a ping naming both jobs');
    await fake.waitFor(() => fake.result('kept') !== undefined && worker.jobs().includes('doomed'), 20_000, 'kept done, doomed running');
    const cancelledBefore = tts.health().requests.cancelled;
    fake.stopJobs('doomed', 'not-here');
    await fake.waitFor(() => worker.jobs().length === 0, 5000, 'the stopped job to end'); // it had ~20 s to go
    expect(tts.health().requests.cancelled).toBe(cancelledBefore + 1);
    await sleep(200);
    expect(fake.of('done').filter((r) => r.jobId === 'doomed' && (r.json as { status?: string }).status !== 'IN_PROGRESS')).toEqual([]);
    fake.enqueue({ id: 'after', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('after') !== undefined);
  });

  it('takes a batch when more than one slot is free, with job_in_progress', async () => {
    const worker = await start({ concurrency: 3, jobs: ['b1', 'b2', 'b3'].map((id) => ({ id, input: request() })) });
    await fake.waitFor(() => fake.results().length === 3);
    const first = fake.requests.find((r) => r.route === 'take' || r.route === 'take-batch')!;
    expect(first.route).toBe('take-batch');
    expect(first.path).toBe(`/v2/${ENDPOINT}/job-take-batch/${POD_ID}`);
    expect(first.query).toEqual({ gpu: 'NVIDIA RTX A5000', batch_size: '3', job_in_progress: '0' });
    expect(fake.results().map((r) => r.jobId).sort()).toEqual(['b1', 'b2', 'b3']);
    // With 2 of 3 slots busy the worker asks for one job and says it holds some.
    fake.enqueue({ id: 'long', input: longRequest() }, { id: 'long2', input: longRequest() });
    await fake.waitFor(() => worker.jobs().length === 2);
    await fake.waitFor(() => fake.of('take').some((t) => t.query.job_in_progress === '1'));
    fake.stopJobs('long', 'long2');
  });

  it('reads a concurrency function once the model is loaded (the limit set at load)', async () => {
    const seen: string[] = [];
    const concurrency = () => (seen.push(tts.health().status), tts.maxConcurrency);
    await start({ concurrency, jobs: ['f1', 'f2'].map((id) => ({ id, input: request() })) });
    await fake.waitFor(() => fake.results().length === 2);
    expect(seen).toEqual(['ready']);
    const first = fake.requests.find((r) => r.route === 'take' || r.route === 'take-batch')!;
    expect(first.query.batch_size).toBe(String(tts.maxConcurrency));
  });

  it('runs OpenAI passthrough jobs (openai_route / openai_input) with the audio serve would send', async () => {
    await start();
    const body = { model: 'tts-1', input: 'Hello there.', seed: 4, max_new_tokens: 40 };
    const direct = await handler.speech.file({ ...body, response_format: 'pcm' }, {});
    fake.enqueue(
      { id: 'oa-file', input: { openai_route: '/v1/audio/speech', openai_input: { ...body, response_format: 'pcm' } } },
      { id: 'oa-models', input: { openai_route: '/v1/models' } },
      { id: 'oa-stream', input: { openai_route: '/v1/audio/speech', openai_input: { ...body, response_format: 'pcm', stream: true } } },
      { id: 'oa-bad', input: { openai_route: '/v1/chat/completions', openai_input: {} } },
    );
    await fake.waitFor(() => ['oa-file', 'oa-models', 'oa-stream', 'oa-bad'].every((id) => fake.result(id) !== undefined));
    const file = (fake.result('oa-file') as { output: Record<string, unknown> }).output;
    expect(file).toMatchObject({ content_type: expect.stringContaining('audio/pcm'), seed: 4, usage: { output_tokens: expect.any(Number) } });
    expect(Buffer.from(String(file.audio_base64), 'base64').equals(direct.audio)).toBe(true);
    const models = (fake.result('oa-models') as { output: { data: Array<{ id: string }> } }).output;
    expect(models.data.map((m) => m.id)).toContain('tts-1');
    const parts = fake.of('stream').filter((r) => r.jobId === 'oa-stream').map((p) => (p.json as { output: Record<string, unknown> }).output);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.at(-1)).toMatchObject({ done: true, audio_base64: '', seed: 4 });
    const streamed = Buffer.concat(parts.map((p) => Buffer.from(String(p.audio_base64), 'base64')));
    expect(streamed.length).toBe(direct.audio.length); // the same samples, windowed (no header)
    expect(errorOf(fake.result('oa-bad'))).toMatchObject({ error_type: 'E_INPUT', error_message: expect.stringContaining('openai_route') });
  });

  it('streams parts through job-stream, then posts the final job-done with isStream=true', async () => {
    await start();
    fake.enqueue({ id: 'st', input: request({ stream: true, max_new_tokens: 100 }) });
    await fake.waitFor(() => fake.result('st') !== undefined);
    const parts = fake.of('stream');
    expect(parts.length).toBeGreaterThan(0);
    // Part 0 leaves with the first decoded window; then HIGGS_STREAM_PART_MS (500 ms) of PCM16
    // at 24 kHz each; the last part carries no audio, only what the stream was.
    const outputs = parts.map((p) => (p.json as { output: Record<string, unknown> }).output);
    const sizes = outputs.map((o) => Buffer.from(String(o.audio_base64), 'base64').length);
    const partBytes = 24000 * 2 * 0.5;
    expect(sizes.length).toBeGreaterThanOrEqual(4); // 4 s of frames at most: header part, several parts, summary
    expect(sizes[0]).toBeGreaterThan(44);
    expect(sizes[0]).toBeLessThanOrEqual(44 + partBytes);
    for (const size of sizes.slice(1, -2)) expect(size).toBe(partBytes);
    expect(sizes.at(-2)).toBeLessThanOrEqual(partBytes);
    expect(outputs.at(-1)).toMatchObject({ audio_base64: '', done: true, seed: 1, truncated: expect.any(Boolean) });
    const chunks = outputs.at(-1)!.chunks as Array<{ stop_reason: string; frames: number; start_seconds: number; end_seconds: number }>;
    expect(outputs.at(-1)!.truncated).toBe(chunks.some((c) => c.stop_reason !== 'audio_end'));
    expect(chunks.at(-1)!.end_seconds).toBeCloseTo(outputs.at(-1)!.duration_seconds as number, 6);
    expect(sizes.slice(1, -1).reduce((a, b) => a + b, sizes[0]! - 44)).toBe(Math.round((outputs.at(-1)!.duration_seconds as number) * 24000) * 2);
    for (const [i, part] of parts.entries()) {
      expect(part.method).toBe('POST');
      expect(part.path).toBe(`/v2/${ENDPOINT}/job-stream/${POD_ID}/st`);
      expect(part.query).toEqual({ gpu: 'NVIDIA RTX A5000', isStream: 'false' }); // sic
      expect(part.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(part.headers['x-request-id']).toBe('st');
      expect(Buffer.byteLength(part.body)).toBeLessThanOrEqual(1024 * 1024);
      expect(part.json).toMatchObject({ output: { part: i, format: 'wav' } });
    }
    const audio = Buffer.concat(parts.map((p) => Buffer.from((p.json as { output: { audio_base64: string } }).output.audio_base64, 'base64')));
    expect(audio.subarray(0, 4).toString()).toBe('RIFF');
    const final = fake.results().find((r) => r.jobId === 'st')!;
    expect(final.query).toEqual({ gpu: 'NVIDIA RTX A5000', isStream: 'true' });
    expect(final.json).toEqual({ output: [] });
    expect(final.at).toBeGreaterThanOrEqual(parts.at(-1)!.at);

    // A stream that fails ends with the SDK's plain-text error, still with isStream=true.
    fake.enqueue({ id: 'st-bad', input: { stream: true, transcript: 5 } });
    await fake.waitFor(() => fake.result('st-bad') !== undefined);
    const failed = fake.results().find((r) => r.jobId === 'st-bad')!;
    expect(failed.query.isStream).toBe('true');
    expect(String((failed.json as { error: string }).error)).toMatch(/^handler: E_INPUT: .*transcript: .* \ntraceback: HiggsError/s);
    expect(fake.of('stream').filter((r) => r.jobId === 'st-bad')).toEqual([]);
  });

  it('fails bad inputs with field messages and keeps serving', async () => {
    await start();
    const bad: [string, unknown, string][] = [
      ['not-object', 'say hello', 'input'],
      ['wrong-type', { transcript: 5 }, 'transcript'],
      ['bad-number', request({ temperature: 'hot' }), 'temperature'],
      ['unknown-key', request({ volume: 11 }), 'volume'],
      ['too-long', { transcript: 'a'.repeat(10_001) }, 'transcript'],
      ['traversal', request({ ref_audio: '../../etc/passwd' }), 'ref_audio'],
      ['huge-b64', request({ ref_audio: { base64: 'QUJD'.repeat(7_000_000), transcript: 'x' } }), 'ref_audio'],
      ['bad-action', { action: 'reboot' }, 'action'],
    ];
    fake.enqueue(...bad.map(([id, input]) => ({ id, input })), { id: 'no-input' }, { id: 'good', input: request() });
    await fake.waitFor(() => fake.result('good') !== undefined && fake.results().length === bad.length + 2, 30_000);
    for (const [id, , field] of bad) {
      const error = errorOf(fake.result(id));
      expect(error, id).toMatchObject({ error_type: 'E_INPUT', hostname: 'host-1', worker_id: POD_ID, runpod_version: '1.12.0' });
      expect(error.error_message, id).toContain(field);
      // One policy in every mode: no traceback, so no file paths of the worker.
      expect(error, id).not.toHaveProperty('error_traceback');
      expect(String(fake.result(id)!.error), id).not.toMatch(/\/(lib|dist|node_modules)\//);
      expect(String(fake.result(id)!.error).length, id).toBeLessThan(10_000); // no payload echoed
      expect(Object.keys(fake.result(id)!)).toEqual(['error']);
    }
    expect(errorOf(fake.result('no-input')).error_message).toContain('missing field(s)');
    expect(fake.result('good')).toHaveProperty('output.audio_base64');
  });

  it('adds stopPod and stops after one job with refreshWorker', async () => {
    const worker = await start({ refreshWorker: true, concurrency: 1 });
    fake.enqueue({ id: 'r1', input: { action: 'health' } }, { id: 'r2', input: { action: 'health' } });
    await worker.finished;
    expect(fake.result('r1')).toMatchObject({ stopPod: true, output: { health: { status: 'ready' } } });
    expect(fake.result('r2')).toBeUndefined();
    expect(fake.queued).toBe(1);
  });

  it('drains on SIGTERM and SIGINT, then removes its signal listeners', async () => {
    const before = process.listenerCount('SIGTERM');
    const beforeInt = process.listenerCount('SIGINT');
    const worker = await start({ handleSignals: true, jobs: [{ id: 'sig', input: request() }] });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(process.listenerCount('SIGINT')).toBe(beforeInt + 1);
    await fake.waitFor(() => worker.jobs().includes('sig'));
    process.emit('SIGTERM', 'SIGTERM');
    await worker.finished;
    expect(fake.result('sig')).toHaveProperty('output.audio_base64');
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(process.listenerCount('SIGINT')).toBe(beforeInt);
  });

  it('does not take jobs when the model fails to load, and rejects finished', async () => {
    fake = await new FakeRunPod().start();
    const broken = new HiggsAudio({ config: { modelDir: '/nonexistent/model', codecDir: '/nonexistent/codec', voicesDir: null, device: 'cpu', dtype: 'float32' }, logger: createLogger({ level: 'silent' }) });
    const worker = runWorker(createTtsHandler(broken, null), { handleSignals: false, logWrite: () => undefined, env: fake.env(), timing: TIMING });
    await expect(worker.finished).rejects.toMatchObject({ code: expect.stringMatching(/^E_/) });
    expect(fake.requests).toEqual([]);
    await broken.dispose();
  });

  it('drains on stop(): takes no more, finishes running jobs, then stops pinging', async () => {
    const worker = await start({ concurrency: 2 });
    fake.enqueue({ id: 'd1', input: request({ max_new_tokens: 80 }) }, { id: 'd2', input: request({ max_new_tokens: 80 }) });
    await fake.waitFor(() => worker.jobs().length === 2);
    const stopped = worker.stop();
    fake.enqueue({ id: 'd3', input: request() });
    await stopped;
    expect(fake.result('d1')).toHaveProperty('output');
    expect(fake.result('d2')).toHaveProperty('output');
    expect(fake.result('d3')).toBeUndefined();
    expect(fake.queued).toBe(1);
    const requestsAtStop = fake.requests.length;
    await sleep(500);
    expect(fake.requests.length).toBe(requestsAtStop); // no take, ping or stop poll after draining
  });

  it('fails and posts the jobs still running when the drain deadline passes, never dropping them', async () => {
    const worker = await start({ extraEnv: { HIGGS_DRAIN_TIMEOUT_MS: '300' } });
    fake.enqueue({ id: 'late', input: longRequest() });
    await fake.waitFor(() => worker.jobs().includes('late'));
    const stopping = Date.now();
    await worker.stop();
    expect(Date.now() - stopping).toBeLessThan(10_000); // the job alone runs far longer
    const error = errorOf(fake.result('late'));
    expect(error).toMatchObject({ error_type: 'E_CANCELLED', worker_id: POD_ID });
    expect(error.error_message).toBe('the worker was stopped (SIGTERM) and this job did not finish within the 0.3 s drain deadline (HIGGS_DRAIN_TIMEOUT_MS)');
    expect(() => readPlatformEnv({ RUNPOD_WEBHOOK_GET_JOB: 'http://h/job-take/$ID', HIGGS_DRAIN_TIMEOUT_MS: 'soon' })).toThrow(/HIGGS_DRAIN_TIMEOUT_MS must be a whole number/);
  });

  it('logs JSON lines with requestId when RUNPOD_ENDPOINT_ID is set, SDK text lines otherwise', async () => {
    const lines: string[] = [];
    await start({ extraEnv: { RUNPOD_ENDPOINT_ID: ENDPOINT }, logWrite: (line) => lines.push(line) });
    fake.enqueue({ id: 'log-1', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('log-1') !== undefined && lines.some((l) => l.includes('Finished')));
    const records = lines.map((l) => JSON.parse(l) as { requestId: string | null; message: string; level: string });
    expect(records.find((r) => r.message === 'Started.')).toMatchObject({ requestId: 'log-1', level: 'INFO' });
    expect(records.some((r) => r.requestId === null)).toBe(true);
    expect(lines.join('\n')).not.toContain(API_KEY);
    await workers.pop()!.stop();
    await fake.close();

    const text: string[] = [];
    await start({ logWrite: (line) => text.push(line) });
    fake.enqueue({ id: 'log-2', input: { action: 'health' } });
    await fake.waitFor(() => text.some((l) => l.includes('Finished')));
    expect(text).toContain('INFO   | log-2 | Started.');
  });

  it('serves 50 concurrent jobs: all complete once, none lost, heartbeats kept', async () => {
    const worker = await start({ concurrency: 8 });
    const ids = Array.from({ length: 50 }, (_, i) => `load-${i}`);
    fake.enqueue(...ids.map((id, i) => ({ id, input: request({ seed: i, max_new_tokens: 12 }) })));
    const started = Date.now();
    await fake.waitFor(() => fake.results().length >= 50, 45_000, '50 results');
    const seconds = (Date.now() - started) / 1e3;
    const done = fake.results().map((r: RecordedRequest) => r.jobId!);
    expect(done.sort()).toEqual([...ids].sort()); // each once
    for (const id of ids) expect(fake.result(id), id).toHaveProperty('output.audio_base64');
    expect(fake.of('take-batch').length).toBeGreaterThan(0);
    // Pings every 200 ms all along, naming jobs while they ran.
    const pings = fake.of('ping').filter((p) => p.at >= started);
    expect(pings.length).toBeGreaterThanOrEqual(Math.floor(seconds / 0.2) - 3);
    const named = new Set(pings.flatMap((p) => (p.query.job_id ?? '').split(',')).filter(Boolean));
    expect(named.size).toBeGreaterThan(10);
    const gaps = pings.slice(1).map((p, i) => p.at - pings[i]!.at);
    expect(Math.max(...gaps)).toBeLessThan(600);
    await fake.waitFor(() => worker.jobs().length === 0, 5000, 'the last job to be released');
  });
});
