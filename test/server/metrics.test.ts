// `serve`'s GET /metrics with the tiny model over real HTTP on loopback: the exposition text read
// by a small parser of our own (not prom-client's), every documented metric present with its
// type (and docs/metrics.md listing exactly the definitions), the counters moving after a
// request, an error, a cancelled stream, RunPod jobs and cache lookups, time to first audio of
// streams and whole files, the gauges read from the service, and the API key (or
// HIGGS_METRICS_PUBLIC). The worker's metrics line: test/runpod/worker/metrics-log.test.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { METRIC_DEFINITIONS, createMetrics, routeLabel, type Metrics } from '../../lib/server/metrics.js';
import { tinyServeConfig, toneVoicesDir } from '../support/tiny-service.js';

const KEY = 'metrics-key';
const auth = { authorization: `Bearer ${KEY}` };
let tts: HiggsAudio;
let handler: TtsHandler;
let metrics: Metrics;
let server: RunningServer;
const work = mkdtempSync(join(tmpdir(), 'higgs-metrics-'));

beforeAll(async () => {
  const config = tinyServeConfig(
    { HIGGS_SLOTS: '2', HIGGS_MAX_CONCURRENCY: '2', HIGGS_MAX_QUEUE: '4' },
    { voicesDir: toneVoicesDir(work), resultCacheDir: join(work, 'results'), maxContext: 4096 },
  );
  metrics = createMetrics();
  tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }), observer: metrics.observer });
  metrics.setHealth(() => tts.health());
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await startServer(handler, { port: 0, concurrency: 2, apiKey: KEY, metrics });
});

afterAll(async () => {
  await server?.close();
  await handler?.dispose();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

/** The text format, read line by line: `# TYPE name type` and `name{a="x",b="y"} value`. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
    const raw = sample[3]!;
    samples.push({ name: sample[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return { types, samples };
}

async function scrape(url = server.url, headers: Record<string, string> = auth): Promise<Exposition> {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

/** The value of one series (0 when absent: a counter not yet moved). */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  return found?.value ?? 0;
}

const speech = (body: Record<string, unknown>, signal?: AbortSignal) =>
  fetch(`${server.url}/v1/audio/speech`, {
    method: 'POST',
    signal,
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tts-1', voice: 'tone', input: 'Hello there.', max_new_tokens: 40, ...body }),
  });

/** Polls until `check` holds (counters of an answer move when its connection closes). */
async function eventually(check: (e: Exposition) => boolean): Promise<Exposition> {
  let last = await scrape();
  for (let i = 0; i < 100 && !check(last); i += 1) {
    await new Promise((r) => setTimeout(r, 30));
    last = await scrape();
  }
  return last;
}

describe('GET /metrics', () => {
  it('serves every documented metric with its type, and the process metrics, in the text format', async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: auth });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const e = parseExposition(await response.text());
    for (const d of METRIC_DEFINITIONS) expect(e.types.get(d.name), d.name).toBe(d.type);
    expect(e.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(e.types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    // The gauges come from the service's health.
    expect(value(e, 'higgs_slots', { state: 'total' })).toBe(tts.maxConcurrency);
    expect(value(e, 'higgs_slots', { state: 'total' })).toBe(tts.health().model!.slots);
    expect(value(e, 'higgs_slots', { state: 'busy' })).toBe(0);
    expect(value(e, 'higgs_queue_depth')).toBe(0);
    expect(value(e, 'higgs_batch_size')).toBe(0);
    expect(value(e, 'higgs_model_loaded')).toBe(1);
    expect(value(e, 'higgs_model_load_seconds')).toBeCloseTo(tts.health().loadSeconds!, 6);
    expect(e.samples.some((s) => s.name === 'higgs_gpu_memory_bytes')).toBe(false); // the CPU
  });

  it('is documented in docs/metrics.md: one row per definition, name, type and labels', () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((line) => line.startsWith('| `higgs_'));
    expect(rows).toHaveLength(METRIC_DEFINITIONS.length);
    for (const d of METRIC_DEFINITIONS) {
      const labels = d.labels.map((l) => `\`${l}\``).join(', ') || '—';
      expect(rows.some((row) => row.startsWith(`| \`${d.name}\` | ${d.type} | ${labels} |`)), d.name).toBe(true);
    }
  });

  it('needs the API key unless HIGGS_METRICS_PUBLIC, and each server has its own registry', async () => {
    const refused = await fetch(`${server.url}/metrics`);
    expect(refused.status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST', headers: auth })).status).toBe(405);
    const open = await startServer(handler, { port: 0, apiKey: KEY, metricsPublic: true });
    try {
      const e = await scrape(open.url, {});
      expect(value(e, 'higgs_requests_total', { route: 'openai_speech', status: '200' })).toBe(0); // nothing served there yet
      expect(value(e, 'higgs_slots', { state: 'total' })).toBe(tts.maxConcurrency); // the handler's health
      expect((await fetch(`${open.url}/v1/models`)).status).toBe(401); // only /metrics is open
    } finally {
      await open.close();
    }
    const e = await eventually((x) => value(x, 'higgs_requests_total', { route: 'metrics', status: '401' }) >= 1);
    expect(value(e, 'higgs_requests_total', { route: 'metrics', status: '401' })).toBeGreaterThanOrEqual(1);
  });

  it('moves the counters after a whole file: request, duration, first audio, audio, frames, queue wait, voice cache', async () => {
    const before = await scrape();
    const response = await speech({ response_format: 'wav', seed: 11 });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const ok = { route: 'openai_speech', status: '200' };
    const after = await eventually((e) => value(e, 'higgs_requests_total', ok) > value(before, 'higgs_requests_total', ok));
    expect(value(after, 'higgs_requests_total', ok)).toBe(value(before, 'higgs_requests_total', ok) + 1);
    const route = { route: 'openai_speech' };
    expect(value(after, 'higgs_request_duration_seconds_count', route)).toBe(value(before, 'higgs_request_duration_seconds_count', route) + 1);
    expect(value(after, 'higgs_time_to_first_audio_seconds_count', route)).toBe(value(before, 'higgs_time_to_first_audio_seconds_count', route) + 1);
    expect(value(after, 'higgs_time_to_first_audio_seconds_sum', route)).toBeGreaterThan(value(before, 'higgs_time_to_first_audio_seconds_sum', route));
    expect(value(after, 'higgs_audio_seconds_total')).toBeGreaterThan(value(before, 'higgs_audio_seconds_total'));
    expect(value(after, 'higgs_generated_frames_total')).toBeGreaterThan(value(before, 'higgs_generated_frames_total'));
    expect(value(after, 'higgs_queue_wait_seconds_count')).toBe(value(before, 'higgs_queue_wait_seconds_count') + 1);
    const lookups = (e: Exposition) => value(e, 'higgs_voice_cache_lookups_total', { result: 'hit' }) + value(e, 'higgs_voice_cache_lookups_total', { result: 'miss' });
    expect(lookups(after)).toBeGreaterThan(lookups(before));
    expect(value(after, 'higgs_result_cache_lookups_total', { result: 'miss' })).toBe(value(before, 'higgs_result_cache_lookups_total', { result: 'miss' }) + 1);

    // The same request again: a result cache hit, no new audio generated.
    await (await speech({ response_format: 'wav', seed: 11 })).arrayBuffer();
    const again = await eventually((e) => value(e, 'higgs_requests_total', ok) > value(after, 'higgs_requests_total', ok));
    expect(value(again, 'higgs_result_cache_lookups_total', { result: 'hit' })).toBe(value(after, 'higgs_result_cache_lookups_total', { result: 'hit' }) + 1);
    expect(value(again, 'higgs_audio_seconds_total')).toBe(value(after, 'higgs_audio_seconds_total'));
    expect(value(again, 'higgs_voice_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(value(after, 'higgs_voice_cache_lookups_total', { result: 'hit' }));
  });

  it('counts errors by status', async () => {
    const before = await scrape();
    const bad = await speech({ speed: 'fast' });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
    const unauthorized = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', body: '{}' });
    expect(unauthorized.status).toBe(401);
    await unauthorized.arrayBuffer();
    const missing = await fetch(`${server.url}/no/such/path`, { headers: auth });
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    const after = await eventually((e) => value(e, 'higgs_requests_total', { route: 'other', status: '404' }) > value(before, 'higgs_requests_total', { route: 'other', status: '404' }));
    for (const status of ['400', '401']) {
      const labels = { route: 'openai_speech', status };
      expect(value(after, 'higgs_requests_total', labels), status).toBe(value(before, 'higgs_requests_total', labels) + 1);
    }
    expect(value(after, 'higgs_requests_total', { route: 'other', status: '404' })).toBe(value(before, 'higgs_requests_total', { route: 'other', status: '404' }) + 1);
  });

  it('times the first chunk of a stream, and counts a stream its client hangs up on as cancelled', async () => {
    const before = await scrape();
    const streamed = await speech({ response_format: 'pcm', stream: true, seed: 5 });
    expect(streamed.status).toBe(200);
    await streamed.arrayBuffer();
    const ok = { route: 'openai_speech', status: '200' };
    const mid = await eventually((e) => value(e, 'higgs_requests_total', ok) > value(before, 'higgs_requests_total', ok));
    const route = { route: 'openai_speech' };
    expect(value(mid, 'higgs_time_to_first_audio_seconds_count', route)).toBe(value(before, 'higgs_time_to_first_audio_seconds_count', route) + 1);
    expect(value(mid, 'higgs_audio_seconds_total')).toBeGreaterThan(value(before, 'higgs_audio_seconds_total'));

    const controller = new AbortController();
    const response = await speech({ input: 'A long one that keeps going.', response_format: 'pcm', stream: true, seed: 3, max_new_tokens: 3000 }, controller.signal);
    const reader = response.body!.getReader();
    await reader.read(); // the first audio
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
    const cancelled = { route: 'openai_speech', status: 'cancelled' };
    const after = await eventually((e) => value(e, 'higgs_requests_total', cancelled) > value(mid, 'higgs_requests_total', cancelled) && value(e, 'higgs_slots', { state: 'busy' }) === 0);
    expect(value(after, 'higgs_requests_total', cancelled)).toBe(value(mid, 'higgs_requests_total', cancelled) + 1);
    expect(value(after, 'higgs_time_to_first_audio_seconds_count', route)).toBe(value(mid, 'higgs_time_to_first_audio_seconds_count', route) + 1);
    expect(value(after, 'higgs_slots', { state: 'busy' })).toBe(0);
    expect(tts.health().requests.cancelled).toBeGreaterThanOrEqual(1);
  });

  it('counts RunPod jobs by route and times their first output', async () => {
    const before = await scrape();
    const sync = await fetch(`${server.url}/runsync`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { transcript: 'Hello there.', seed: 2, max_new_tokens: 30 } }),
    });
    expect(((await sync.json()) as { status: string }).status).toBe('COMPLETED');
    const run = (await (
      await fetch(`${server.url}/v2/endpoint/run`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { transcript: 'Hello again.', seed: 4, max_new_tokens: 30 } }),
      })
    ).json()) as { id: string };
    const status = await fetch(`${server.url}/status-sync/${run.id}`, { headers: auth });
    expect(((await status.json()) as { status: string }).status).toBe('COMPLETED');
    const after = await eventually((e) => value(e, 'higgs_requests_total', { route: 'runpod_status', status: '200' }) > value(before, 'higgs_requests_total', { route: 'runpod_status', status: '200' }));
    for (const route of ['runpod_runsync', 'runpod_run', 'runpod_status']) {
      expect(value(after, 'higgs_requests_total', { route, status: '200' }), route).toBe(value(before, 'higgs_requests_total', { route, status: '200' }) + 1);
    }
    for (const route of ['runpod_runsync', 'runpod_run']) {
      expect(value(after, 'higgs_time_to_first_audio_seconds_count', { route }), route).toBe(value(before, 'higgs_time_to_first_audio_seconds_count', { route }) + 1);
    }
  });

  it('labels every path by its surface', () => {
    expect(routeLabel('v1/audio/speech')).toBe('openai_speech');
    expect(routeLabel('v1/audio/voices/tone')).toBe('openai_voices');
    expect(routeLabel('v1/models')).toBe('openai_models');
    expect(routeLabel('')).toBe('runpod_root');
    expect(routeLabel('status/abc')).toBe('runpod_status');
    expect(routeLabel('status-sync/abc')).toBe('runpod_status');
    expect(routeLabel('stream/abc')).toBe('runpod_stream');
    expect(routeLabel('health')).toBe('health');
    expect(routeLabel('run/extra')).toBe('other');
    expect(routeLabel('__proto__')).toBe('other');
    expect(routeLabel('v1/anything')).toBe('other');
  });
});
