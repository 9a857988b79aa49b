// Issue 31, items 5 and 7 (part), over real HTTP on loopback. A decode-only request whose file
// would be over the output bound (frames / 25 s, divided by speed, times the rate: at most
// OUTPUT_LIMITS.maxSamples) is a 400 naming the bound, before any work: it is refused even while
// the only slot is held, where a request within the bound waits for it (here: 429, no queue).
// Opus at a rate Opus cannot state (22050, 44100) is a 400 listing the rates it can, instead of a
// file silently at 48 kHz; the rates it lists come back as asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFingerprint } from '../../lib/audio/codec-id.js';
import { loadNative } from '../../lib/native/loader.js';
import { OUTPUT_LIMITS } from '../../lib/request/defaults.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import type { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { openTinyService, tinyCodecDir } from '../support/tiny-service.js';

const opened: HiggsAudio[] = [];
let tts: HiggsAudio;
let handler: TtsHandler;
let server: RunningServer;
let codec: string;

beforeAll(async () => {
  tts = openTinyService(opened, { maxConcurrency: 1, maxQueue: 0 });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await startServer(handler, { port: 0 });
  codec = await codecFingerprint(tinyCodecDir);
});

afterAll(async () => {
  await server?.close();
  for (const service of opened) await service.dispose();
});

/** A codes payload of `frames` frames of this codec (valid codes, any values). */
function codes(frames: number) {
  const bytes = Buffer.alloc(8 * frames * 2);
  for (let i = 0; i < 8 * frames; i += 1) bytes.writeInt16LE((i * 7919) % 1024, i * 2);
  return { layout: 'int16le', codebooks: 8, frames, codec, base64: bytes.toString('base64') };
}

const speech = (body: Record<string, unknown>) =>
  fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Holds the only slot: a stream paused after its first chunk keeps it until `release`. */
async function holdSlot(): Promise<() => Promise<void>> {
  const chunks = tts.stream({ transcript: 'Good morning to you.', seed: 5, max_new_tokens: 400, output_format: 'pcm' })[Symbol.asyncIterator]();
  expect((await chunks.next()).done).toBe(false);
  return async () => void (await chunks.return?.());
}

describe('the output bound of a decode-only request', () => {
  it('refuses a file over the bound before any work, naming the bound', async () => {
    expect(OUTPUT_LIMITS.maxSamples).toBe(57_600_000); // 40 minutes at 24 kHz: the largest codes payload at speed 1
    const release = await holdSlot();
    try {
      // The request: 60,000 frames (allowed as codes) at 48 kHz and speed 0.25 would be
      // 460,800,000 samples (a 920 MB WAV and many GB of memory).
      const huge = await speech({ codes: codes(60_000), response_format: 'wav', sample_rate: 48000, speed: 0.25 });
      expect(huge.status).toBe(400);
      const error = (await huge.json()).error;
      expect(error).toMatchObject({ code: 'E_INPUT', param: 'codes' });
      expect(error.message).toContain('460800000 samples');
      expect(error.message).toContain(`at most ${OUTPUT_LIMITS.maxSamples} samples`);
      // Just over and exactly at the bound (7,500 frames = 300 s; / 0.25 x 48 kHz = 57,600,000).
      expect((await speech({ codes: codes(7501), response_format: 'wav', sample_rate: 48000, speed: 0.25 })).status).toBe(400);
      const within = await speech({ codes: codes(7500), response_format: 'wav', sample_rate: 48000, speed: 0.25 });
      expect(within.status).toBe(429); // valid: it waits for the slot (no queue here: E_BUSY)
      // Every codes payload fits at the codec's rate and speed 1.
      expect((await speech({ codes: codes(60_000), response_format: 'wav' })).status).toBe(429);
    } finally {
      await release();
    }
  });
});

describe('opus sample rates', () => {
  it('refuses a rate Opus cannot state, listing those it can; writes those at their rate', async () => {
    const body = { codes: codes(100), response_format: 'opus' };
    for (const rate of [22050, 44100]) {
      const refused = await speech({ ...body, sample_rate: rate });
      expect(refused.status).toBe(400);
      const error = (await refused.json()).error;
      expect(error.param).toBe('sample_rate');
      expect(error.message).toContain(`opus is written at 8000, 16000, 24000, 48000 Hz only (got ${rate})`);
    }
    for (const rate of [8000, 16000, 24000, 48000]) {
      const made = await speech({ ...body, sample_rate: rate });
      expect(made.status).toBe(200);
      const read = await loadNative().readAudio(Buffer.from(await made.arrayBuffer()));
      expect(read.sampleRate, `opus at ${rate}`).toBe(rate);
    }
    // The generated route refuses it the same way, before generating.
    const generated = await speech({ model: 'tts-1', input: 'Hello there.', seed: 7, response_format: 'opus', sample_rate: 44100 });
    expect(generated.status).toBe(400);
  });
});
