#!/usr/bin/env node
// Continuous batching through `serve`, in one run on one server: N requests sent one after
// another, then the same N at once (real HTTP on loopback, POST /v2/local/runsync). Prints a
// JSON report: both wall times, the speedup, the largest batch the engine saw, and whether every
// request's audio bytes were the same both ways (they must be with exact batching). Speed is
// shown here, never asserted by a test. Needs the built library (npm run build).
//   node scripts/bench/serve-batch.mjs [--requests N] [--batching exact|fast] [--frames N]
//                                      [--model DIR] [--codec DIR] [--json FILE]
// Without --model/--codec: HIGGS_MODEL_DIR / HIGGS_CODEC_DIR, else the bundled tiny model.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../../dist/lib/common/log.js';
import { loadConfig } from '../../dist/lib/config/load-config.js';
import { createTtsHandler } from '../../dist/lib/runpod/handler.js';
import { startServer } from '../../dist/lib/server/server.js';
import { HiggsAudio } from '../../dist/lib/service/higgs-audio.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '8' },
    batching: { type: 'string', default: 'exact' },
    frames: { type: 'string', default: '200' },
    model: { type: 'string' },
    codec: { type: 'string' },
    json: { type: 'string' },
  },
});
const requests = Number(values.requests);
const frames = Number(values.frames);
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(frames) || frames < 1) {
  console.error('serve-batch: --requests and --frames take positive integers');
  process.exit(2);
}

const env = { ...process.env, HIGGS_SLOTS: String(requests), HIGGS_BATCHING: values.batching, HIGGS_MAX_QUEUE: String(requests) };
if (values.model) env.HIGGS_MODEL_DIR = values.model;
if (values.codec) env.HIGGS_CODEC_DIR = values.codec;
const tts = new HiggsAudio({ config: loadConfig(env), logger: createLogger({ level: 'silent' }) });
const handler = createTtsHandler(tts, null);
await handler.ready();
const server = await startServer(handler, { port: 0, concurrency: tts.maxConcurrency, maxQueue: requests });

const texts = ['Hello there.', 'A second voice speaks.', 'Numbers: one, two, three.', 'The last line of all.'];
// Seeds and settings the bundled tiny random model answers with audio (some of its draws end at
// once, and an empty result is an error).
const inputs = Array.from({ length: requests }, (_, i) => ({
  transcript: texts[i % texts.length],
  seed: 100 + i,
  temperature: i % 3 === 0 ? 0 : 0.8,
  max_new_tokens: frames,
}));
async function runSync(input) {
  const res = await fetch(`${server.url}/v2/local/runsync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  const body = await res.json();
  if (body.status !== 'COMPLETED') throw new Error(`request ${JSON.stringify(input)} failed: ${JSON.stringify(body).slice(0, 400)}`);
  return body.output.audio_base64;
}

let peakBatch = 0;
const watch = setInterval(() => (peakBatch = Math.max(peakBatch, tts.health().batch?.busy ?? 0)), 2);
try {
  await runSync(inputs[0]); // warm-up: first-call allocations
  let start = performance.now();
  const alone = [];
  for (const input of inputs) alone.push(await runSync(input));
  const sequentialS = (performance.now() - start) / 1e3;
  peakBatch = 0;
  start = performance.now();
  const together = await Promise.all(inputs.map(runSync));
  const concurrentS = (performance.now() - start) / 1e3;
  const info = tts.health().model;
  const report = {
    tool: 'serve-batch',
    model: info?.modelDir || 'random',
    device: info?.device,
    dtype: info?.dtype,
    slots: info?.slots,
    batching: info?.batching,
    requests,
    max_new_tokens: frames,
    sequential_s: sequentialS,
    concurrent_s: concurrentS,
    speedup: sequentialS / concurrentS,
    peak_batch: peakBatch,
    identical_audio: together.every((audio, i) => audio === alone[i]),
  };
  const text = JSON.stringify(report, null, 2);
  console.log(text);
  if (values.json) writeFileSync(values.json, `${text}\n`);
} finally {
  clearInterval(watch);
  await server.close();
  await handler.dispose();
}
