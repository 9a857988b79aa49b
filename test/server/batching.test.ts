// Continuous batching through `serve` with the real handler over the tiny model, with eager
// decode (the host-sampled slot batch) and static decode (the device batch): requests sent at
// once decode together in the engine's slots (exact batching, the default) and give the very
// bytes they give one after another; a streamed request hears its first audio while others run.
// Speed is not asserted here: higgs-bench --batch measures it (BENCHMARKS.md).
import { join } from 'node:path';
import runpodSdk from 'runpod-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

/** The most slots seen busy while `work` runs. */
async function peakBusy<T>(tts: HiggsAudio, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  let running = true;
  const watch = (async () => {
    while (running) {
      peak = Math.max(peak, tts.health().batch?.busy ?? 0);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const result = await work.finally(() => {
    running = false;
  });
  await watch;
  return { result, peak };
}

describe.each(['eager', 'static'] as const)('continuous batching through serve (%s decode)', (decode) => {
  let tts: HiggsAudio;
  let handler: TtsHandler;
  let server: RunningServer;
  let endpoint: ReturnType<ReturnType<typeof runpodSdk>['endpoint']> & {};

  beforeAll(async () => {
    const config = {
      ...loadConfig({ HIGGS_DEVICE: 'cpu', HIGGS_DECODE: decode, HIGGS_SLOTS: '8', HIGGS_MAX_QUEUE: '32' }),
      modelDir: tinyHfDir,
      codecDir: join(goldensDir, 'codec'),
      voicesDir: null,
      maxContext: 2048,
    };
    tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }) });
    handler = createTtsHandler(tts, null);
    await handler.ready();
    expect(tts.health().model?.decode).toBe(decode);
    // As the CLI: the server runs as many jobs at once as the service admits (the engine's slots).
    expect(tts.maxConcurrency).toBe(8);
    server = await startServer(handler, { port: 0, concurrency: tts.maxConcurrency });
    endpoint = runpodSdk('any-key', { baseUrl: `${server.url}/v2` }).endpoint('local')!;
  });

  afterAll(async () => {
    await server?.close();
    await handler?.dispose();
  });

  it('gives 8 requests sent at once the bytes they get one after another', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => ({
      transcript: ['Hello there.', 'A second voice speaks.', 'Numbers: one, two, three.', 'The last line.'][i % 4],
      seed: 100 + i,
      max_new_tokens: 40 + 15 * i,
      temperature: i % 3 === 0 ? 0 : 0.8,
    }));
    const alone: string[] = [];
    for (const input of inputs) {
      const result = await endpoint.runSync({ input });
      expect(result.status).toBe('COMPLETED');
      alone.push(result.output.audio_base64 as string);
    }
    const { result: together, peak } = await peakBusy(tts, Promise.all(inputs.map((input) => endpoint.runSync({ input }))));
    expect(peak).toBeGreaterThan(1); // they did decode together
    together.forEach((result, i) => {
      expect(result.status).toBe('COMPLETED');
      expect(result.output.audio_base64, `request ${i}`).toBe(alone[i]);
    });
  });

  it('streams the first audio of a request while longer ones are still running', async () => {
    const long = await Promise.all(
      [1, 2, 3].map((seed) => endpoint.run({ input: { transcript: 'A long one that keeps going.', seed, max_new_tokens: 1500 } })),
    );
    const { id } = await endpoint.run({ input: { transcript: 'Quick.', seed: 9, stream: true, max_new_tokens: 60 } });
    let first = true;
    for await (const item of endpoint.stream(id)) {
      if (!first) continue;
      first = false;
      expect((item as { output: { part: number } }).output.part).toBe(0);
      // At the first part, the long jobs are all still generating.
      for (const job of long) expect((await endpoint.status(job.id)).status).toBe('IN_PROGRESS');
    }
    expect(first).toBe(false);
    for (const job of long) await endpoint.cancel(job.id);
  });
});
