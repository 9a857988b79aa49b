/**
 * The RunPod commands of the CLI: `serve` (the local API server) and `worker` (one-shot test
 * input, or the platform job loop when RUNPOD_WEBHOOK_GET_JOB is set), as runpod-python picks
 * its mode (docs/runpod-protocol.md#modes). Both build the real handler from the environment config.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import { webSocketLimitsFromEnv } from '../server/websocket-limits.js';
import { EXIT, type CliIO } from './io.js';
import { loadConfig } from '../config/load-config.js';
import { runpodVolume } from '../runpod/volume.js';
import { HiggsAudio } from '../service/higgs-audio.js';
import { errorCode } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { usage } from './usage.js';
import { createTtsHandler } from '../runpod/handler.js';
import { createS3Delivery } from '../s3/client.js';
import { readFetchPolicy } from '../openai/fetch-reference.js';
import { isPlatformMode } from '../runpod/env.js';
import { DEFAULT_TEST_INPUT, runOneShot } from '../runpod/oneshot.js';
import { runWorker } from '../runpod/worker/worker.js';
import { runFitnessChecks, type FitnessReport } from '../runpod/worker/fitness.js';
import { probeNvidiaSmi } from '../runpod/worker/fitness-gpu.js';
import { loadNative } from '../native/loader.js';
import { SEND_TIMEOUT_RANGE } from '../server/limits.js';
import { createMetrics } from '../server/metrics.js';
import { metricsLogMs } from '../runpod/worker/metrics-log.js';

export async function runRunpodCommand(command: 'serve' | 'worker', args: readonly string[], io: CliIO): Promise<number> {
  try {
    return command === 'serve' ? await serve(args, io) : await worker(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`higgs-audio: [E_INPUT] ${error.message}\nRun 'higgs-audio help ${command}' for usage.\n`);
      return EXIT.usage;
    }
    io.stderr.write(`higgs-audio: [${errorCode(error)}] ${error instanceof Error ? error.message : String(error)}\n`);
    if (io.env.HIGGS_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT.error;
  }
}

async function serve(args: readonly string[], io: CliIO): Promise<number> {
  const { values } = strict(args, { host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) return help('serve', io);
  const port = values.port === undefined ? 8080 : parsePort(values.port);
  const rateLimit = parseRateLimit(io.env.HIGGS_RATE_LIMIT_PER_MINUTE);
  const sendTimeoutMs = parseSendTimeout(io.env.HIGGS_SEND_TIMEOUT_MS);
  const websocket = parseWebSocketLimits(io.env);
  const metricsPublic = parseFlag('HIGGS_METRICS_PUBLIC', io.env.HIGGS_METRICS_PUBLIC);
  // The playground page at GET / (lib/server/playground.ts): on unless HIGGS_PLAYGROUND=0.
  const playground = (io.env.HIGGS_PLAYGROUND ?? '').trim() === '' || parseFlag('HIGGS_PLAYGROUND', io.env.HIGGS_PLAYGROUND);
  const config = loadConfig(io.env, { volume: runpodVolume() });
  const logger = createLogger({ level: config.logLevel });
  const metrics = createMetrics();
  const tts = new HiggsAudio({ config, logger, observer: metrics.observer });
  metrics.setHealth(() => tts.health());
  const handler = createTtsHandler(tts, createS3Delivery(), { refAudioFetch: readFetchPolicy(io.env) });
  const stop = stopSignal(io);
  try {
    await handler.ready(); // a broken model fails the command now, not the first request
    const { startServer } = await import('../server/server.js');
    const server = await startServer(handler, {
      host: values.host ?? '127.0.0.1',
      port,
      apiKey: io.env.HIGGS_API_KEY || undefined,
      rateLimitPerMinute: rateLimit,
      sendTimeoutMs,
      concurrency: tts.maxConcurrency, // after ready(): the engine's slots unless set
      maxQueue: config.maxQueue,
      websocket,
      metrics,
      metricsPublic,
      playground,
      logger,
    });
    io.stderr.write(`higgs-audio: serving on ${server.url} (POST / with {"input": {...}}; runpod-sdk baseUrl ${server.url}/v2)\n`);
    await new Promise<void>((done) => (stop.signal.aborted ? done() : stop.signal.addEventListener('abort', () => done(), { once: true })));
    await server.close();
    return EXIT.ok;
  } finally {
    stop.dispose();
    await handler.dispose();
  }
}

async function worker(args: readonly string[], io: CliIO): Promise<number> {
  const { values } = strict(args, {
    'test-input': { type: 'string' },
    test_input: { type: 'string' }, // runpod-python's spelling
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help('worker', io);
  const given = values['test-input'] ?? values.test_input;
  const platform = !given && isPlatformMode(io.env);
  if (!given && !platform && !existsSync(resolve(io.cwd, DEFAULT_TEST_INPUT))) {
    throw new UsageError(`no job to run: give --test-input FILE, put a ${DEFAULT_TEST_INPUT} in the working directory, or set RUNPOD_WEBHOOK_GET_JOB (on RunPod)`);
  }
  // One-shot: stdout carries only the result line, so the logs go to stderr.
  const destination = platform ? undefined : { write: (line: string) => void io.stderr.write(line) };
  // Before the model loads and before any job is taken: can this worker serve at all?
  const fitness = runFitnessChecks({
    env: io.env,
    platform,
    loadConfig: () => loadConfig(io.env, { volume: runpodVolume() }),
    loadBinding: () => loadNative(),
    probeGpu: probeNvidiaSmi,
  });
  logFitness(fitness, destination);
  if (!fitness.ok) return EXIT.error;
  const config = fitness.config;
  const logger = createLogger({ level: config.logLevel, destination });
  const metrics = createMetrics({ processMetrics: false });
  const tts = new HiggsAudio({ config, logger, observer: metrics.observer });
  metrics.setHealth(() => tts.health());
  const handler = createTtsHandler(tts, createS3Delivery(), { refAudioFetch: readFetchPolicy(io.env) });
  const stop = stopSignal(io);
  try {
    if (!platform) return await runOneShot(handler, given ?? DEFAULT_TEST_INPUT, { stdout: io.stdout, stderr: io.stderr, cwd: io.cwd, signal: stop.signal });
    // Our stop signal covers SIGINT (through the CLI) and SIGTERM: the worker drains on it.
    // Read once the model is loaded, when the limit follows the engine's slots.
    const running = runWorker(handler, { env: io.env, concurrency: () => tts.maxConcurrency, handleSignals: false, metrics, metricsLogMs: parseMetricsLog(io.env) });
    const onStop = () => void running.stop();
    if (stop.signal.aborted) onStop();
    else stop.signal.addEventListener('abort', onStop, { once: true });
    await running.finished;
    return EXIT.ok;
  } finally {
    stop.dispose();
    await handler.dispose();
  }
}

/**
 * One line either way: the passed checks at info (the configured level applies), or the failed
 * check at fatal, written even when the logs are silenced: it is why the worker exits.
 */
function logFitness(report: FitnessReport, destination: { write(line: string): void } | undefined): void {
  if (report.ok) {
    createLogger({ level: report.config.logLevel, destination }).info(
      { requestId: null, event: 'fitness.passed', checks: report.passed, notes: report.notes },
      `fitness checks passed: ${report.passed.join(', ')}`,
    );
    return;
  }
  createLogger({ level: 'fatal', destination }).fatal(
    { requestId: null, event: 'fitness.failed', check: report.check, passed: report.passed },
    `fitness check ${report.check} failed: ${report.message}`,
  );
}

/** Aborts on the CLI's interrupt (SIGINT) or on SIGTERM, which Docker and RunPod send to stop. */
function stopSignal(io: CliIO): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  io.signal?.addEventListener('abort', abort, { once: true });
  if (io.signal?.aborted) abort();
  process.once('SIGTERM', abort);
  return {
    signal: controller.signal,
    dispose: () => {
      io.signal?.removeEventListener('abort', abort);
      process.off('SIGTERM', abort);
    },
  };
}

function help(command: 'serve' | 'worker', io: CliIO): number {
  io.stdout.write(usage(command));
  return EXIT.ok;
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) throw new UsageError(`--port must be a whole number from 0 to 65535 (got ${JSON.stringify(text)})`);
  return port;
}

function parseRateLimit(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const perMinute = Number(text);
  if (!Number.isInteger(perMinute) || perMinute < 1) {
    throw new UsageError(`HIGGS_RATE_LIMIT_PER_MINUTE must be a whole number of at least 1 (got ${JSON.stringify(text)})`);
  }
  return perMinute;
}

/** HIGGS_WS_*: the WebSocket's bounds (lib/server/websocket-limits.ts); a bad value is a usage error. */
function parseWebSocketLimits(env: Readonly<Record<string, string | undefined>>) {
  try {
    return webSocketLimitsFromEnv(env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A 0/1 switch (true, false, yes, no too); unset or empty is off. */
function parseFlag(name: string, text: string | undefined): boolean {
  const value = (text ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no'].includes(value)) return false;
  if (['1', 'true', 'yes'].includes(value)) return true;
  throw new UsageError(`${name} must be 1 or 0 (got ${JSON.stringify(text)})`);
}

/** HIGGS_METRICS_LOG_S (lib/runpod/worker/metrics-log.ts); a bad value is a usage error. */
function parseMetricsLog(env: NodeJS.ProcessEnv): number | null {
  try {
    return metricsLogMs(env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** HIGGS_SEND_TIMEOUT_MS: unset, the default of lib/server/limits.ts. */
function parseSendTimeout(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const ms = Number(text);
  const { minimum, maximum } = SEND_TIMEOUT_RANGE;
  if (!Number.isInteger(ms) || ms < minimum || ms > maximum) {
    throw new UsageError(`HIGGS_SEND_TIMEOUT_MS must be a whole number of milliseconds from ${minimum} to ${maximum} (got ${JSON.stringify(text)})`);
  }
  return ms;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & {};

function strict<T extends Options>(args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    // Node appends advice about '--' that does not apply here: keep the first sentence.
    throw new UsageError((error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
}
