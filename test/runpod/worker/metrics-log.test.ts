// The platform worker's metrics line (docs/metrics.md#the-workers-line): on a fake RunPod platform
// with the tiny model, `{event: "metrics"}` JSON lines every HIGGS_METRICS_LOG_S with the figures
// of serve's /metrics as plain numbers, moving after a job; none with HIGGS_METRICS_LOG_S=0.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../../lib/service/higgs-audio.js';
import { createLogger } from '../../../lib/common/log.js';
import { createTtsHandler, type TtsHandler } from '../../../lib/runpod/handler.js';
import { runWorker, type RunningWorker } from '../../../lib/runpod/worker/worker.js';
import { metricsLogMs } from '../../../lib/runpod/worker/metrics-log.js';
import { createMetrics, type Metrics } from '../../../lib/server/metrics.js';
import { tinyHfDir } from '../../setup/fixture-paths.js';
import { goldensDir } from '../../support/goldens.js';
import { ENDPOINT, FakeRunPod } from '../../support/fake-runpod.js';

const TIMING = { takeTimeoutMs: 5000, rateLimitMs: 150, errorBackoffMs: 100, maxBackoffMs: 400, stopIdleMs: 50, postRetryDelaysMs: [60, 90], progressIntervalMs: 50 };

let tts: HiggsAudio;
let handler: TtsHandler;
let metrics: Metrics;
let fake: FakeRunPod;
const workers: RunningWorker[] = [];

beforeAll(() => {
  metrics = createMetrics({ processMetrics: false });
  tts = new HiggsAudio({
    config: { modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 2048, maxConcurrency: 2, maxQueue: 8 },
    logger: createLogger({ level: 'silent' }),
    observer: metrics.observer,
  });
  metrics.setHealth(() => tts.health());
  handler = createTtsHandler(tts, null);
});

afterAll(async () => {
  await tts.dispose();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fake?.close();
});

async function start(extraEnv: Record<string, string>, lines: string[]): Promise<RunningWorker> {
  fake = await new FakeRunPod().start();
  const worker = runWorker(handler, { handleSignals: false, metrics, logWrite: (line) => lines.push(line), env: fake.env({ RUNPOD_ENDPOINT_ID: ENDPOINT, ...extraEnv }), timing: TIMING });
  workers.push(worker);
  return worker;
}

type MetricsLine = Record<string, unknown> & { event: string; requestId: null; message: string };
const metricLines = (lines: string[]) => lines.map((l) => JSON.parse(l) as MetricsLine).filter((r) => r.event === 'metrics');

describe('the worker metrics line', () => {
  it('logs the figures as one JSON line every HIGGS_METRICS_LOG_S, moving after a job', async () => {
    const lines: string[] = [];
    await start({ HIGGS_METRICS_LOG_S: '0.1' }, lines);
    await fake.waitFor(() => metricLines(lines).length > 0);
    const first = metricLines(lines)[0]!;
    expect(first).toMatchObject({ requestId: null, message: 'metrics', model_loaded: 1, slots: { busy: 0, total: 2 }, queue_depth: 0, batch_size: 0 });
    expect(first.model_load_seconds).toBeGreaterThan(0);
    expect(first).not.toHaveProperty('requests_total'); // no HTTP routes here: left out, not zero

    fake.enqueue({ id: 'm-1', input: { transcript: 'Hello there.', seed: 1, max_new_tokens: 30 } });
    await fake.waitFor(() => fake.result('m-1') !== undefined);
    const seen = lines.length;
    await fake.waitFor(() => metricLines(lines.slice(seen)).length > 0);
    const later = metricLines(lines.slice(seen))[0]!;
    expect(later.audio_seconds_total).toBeGreaterThan(0);
    expect(later.generated_frames_total).toBeGreaterThan(0);
    expect((later.queue_wait_seconds as { count: number }).count).toBeGreaterThanOrEqual(1);
  });

  it('logs none with HIGGS_METRICS_LOG_S=0, and reads the variable strictly', async () => {
    const lines: string[] = [];
    await start({ HIGGS_METRICS_LOG_S: '0' }, lines);
    fake.enqueue({ id: 'm-2', input: { action: 'health' } });
    await fake.waitFor(() => fake.result('m-2') !== undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(metricLines(lines)).toHaveLength(0);
    expect(metricsLogMs({})).toBe(60_000);
    expect(metricsLogMs({ HIGGS_METRICS_LOG_S: '2.5' })).toBe(2500);
    expect(metricsLogMs({ HIGGS_METRICS_LOG_S: '0' })).toBeNull();
    expect(() => metricsLogMs({ HIGGS_METRICS_LOG_S: 'often' })).toThrow(/HIGGS_METRICS_LOG_S must be/);
  });
});
