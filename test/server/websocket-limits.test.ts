// The bounds of serve's text-in WebSocket, with real `ws` clients on loopback and the tiny model
// (two slots, nothing may wait in the service's queue): a reader that stops for a while pauses
// the generation and then gets every byte, a client that stops reading is cut off after the send timeout and its
// generation cancelled, many sessions at once share the slots (a sentence that finds them all
// taken waits its turn), sessions beyond maxSessions, an idle session and one open too long are
// told why and closed, and closing the server closes its sessions and stops their work.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/common/log.js';
import type { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer, type ServeOptions } from '../../lib/server/server.js';
import { WEBSOCKET_LIMITS, webSocketLimitsFromEnv } from '../../lib/server/websocket-limits.js';
import { openTinyService } from '../support/tiny-service.js';
import { SpeechSocket, sleep, waitFor } from './websocket-client.js';

const opened: HiggsAudio[] = [];
let tts: HiggsAudio;
let handler: TtsHandler;
const servers: RunningServer[] = [];
const sockets: SpeechSocket[] = [];

beforeAll(async () => {
  tts = openTinyService(opened, { maxContext: 8192, maxConcurrency: 2, maxQueue: 0 });
  handler = createTtsHandler(tts, null);
  await handler.ready();
});

const idle = () => tts.health().requests.active === 0 && tts.health().requests.queued === 0;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await waitFor(idle, 30_000, 'the service idle after the test');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await handler?.dispose();
});

async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const server = await startServer(handler, { port: 0, concurrency: 2, ...options });
  servers.push(server);
  return server;
}

async function open(server: RunningServer): Promise<SpeechSocket> {
  const socket = await SpeechSocket.open(server);
  sockets.push(socket);
  return socket;
}

/** Sentences of about 14 s of speech each (no clause mark: one sentence apiece), loud at 48 kHz PCM: megabytes of audio. */
const longSentences = (count: number) => Array.from({ length: count }, () => `${'word '.repeat(35)}end.`).join(' ');

describe('the WebSocket bounds', () => {
  it('has one table of defaults, and reads its environment variables strictly', () => {
    expect(WEBSOCKET_LIMITS).toMatchObject({ maxSessions: 64, idleMs: 60_000, maxSessionMs: 1_800_000, maxUnsentBytes: 1_048_576, maxBufferedChars: 10_000 });
    expect(webSocketLimitsFromEnv({ HIGGS_WS_MAX_SESSIONS: '8', HIGGS_WS_IDLE_MS: ' ', OTHER: '1' })).toEqual({ maxSessions: 8 });
    expect(() => webSocketLimitsFromEnv({ HIGGS_WS_MAX_UNSENT_BYTES: '10' })).toThrow(/HIGGS_WS_MAX_UNSENT_BYTES must be a whole number from 16384/);
    expect(() => webSocketLimitsFromEnv({ HIGGS_WS_IDLE_MS: '1.5e3x' })).toThrow(/HIGGS_WS_IDLE_MS/);
  });

  it('pauses the generation for a reader that stops for a while, then gives it every byte in order', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const server = await serve({ sendTimeoutMs: 30_000, websocket: { maxUnsentBytes: 64 * 1024 }, logger });
    const spoken = () => lines.filter((line) => line.includes('"ws.sentence.done"')).length;
    const client = await open(server);
    client.send({ type: 'session.config', response_format: 'pcm', sample_rate: 48000, seed: 7, max_new_tokens: 3000 });
    client.send({ type: 'input.text', text: longSentences(12) }); // far more audio than loopback's socket buffers hold
    client.send({ type: 'input.done' });
    await client.firstFrame();
    client.ws.pause();
    // Once the socket buffers are full the server holds the audio back, and no further sentence starts.
    let count = -1;
    await waitFor(async () => {
      const before = spoken();
      await sleep(1000);
      const steady = spoken() === before && before === count;
      count = before;
      return steady;
    }, 60_000, 'the generation paused');
    expect(count).toBeLessThan(12);
    client.ws.resume();
    expect(await client.next('session.done')).toMatchObject({ total_sentences: 12 });
    const sentences = client.sentences();
    expect(sentences.map((s) => s.done!.status)).toEqual(Array(12).fill('done'));
    for (const { audio, done } of sentences) {
      expect(audio.length).toBe(done!.total_bytes);
      expect(audio.length / 2 / 48000).toBeCloseTo(done!.end_seconds - done!.start_seconds, 5);
    }
  });

  it('cuts off a client that stops reading after the send timeout, cancelling its generation', async () => {
    const server = await serve({ sendTimeoutMs: 1500, websocket: { maxUnsentBytes: 64 * 1024 } });
    const cancelledBefore = tts.health().requests.cancelled;
    const client = await open(server);
    client.send({ type: 'session.config', response_format: 'pcm', sample_rate: 48000, seed: 7, max_new_tokens: 3000 });
    client.send({ type: 'input.text', text: longSentences(12) }); // far more audio than loopback's socket buffers hold
    client.send({ type: 'input.done' });
    await client.firstFrame();
    client.ws.pause(); // never reads again
    // Its audio waits (the generation with it) until the send timeout, then the socket is cut and its work stops.
    await waitFor(async () => (await server.connections()) === 0, 60_000, 'the stalled session cut off');
    await waitFor(idle, 10_000, 'its generation stopped');
    expect(tts.health().requests.cancelled).toBeGreaterThan(cancelledBefore);
    client.ws.resume();
    expect((await client.closed).code).toBe(1006); // cut, not closed: no close frame could get through
    expect(client.messages('session.done')).toEqual([]);
    expect(client.messages('audio.start').length).toBeLessThan(12);
  });

  it('runs many sessions at once, sharing the slots: a sentence that finds every slot taken waits its turn', async () => {
    const server = await serve();
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, tts.health().requests.active)), 5);
    try {
      const sessions = await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const client = await open(server);
          client.send({ type: 'session.config', response_format: 'wav', seed: 20 + i, max_new_tokens: 200 });
          await client.speak(['First of two.', ' Second of two.']);
          return client;
        }),
      );
      for (const client of sessions) {
        expect(client.messages('error')).toEqual([]);
        expect(client.sentences().map((s) => [s.start.sentence_text, s.done!.status])).toEqual([
          ['First of two.', 'done'],
          ['Second of two.', 'done'],
        ]);
        for (const { audio } of client.sentences()) expect(audio.toString('ascii', 0, 4)).toBe('RIFF');
      }
    } finally {
      clearInterval(watch);
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
  });

  it('refuses sessions beyond maxSessions with E_BUSY (1013), and closes an idle session (1008)', async () => {
    const server = await serve({ websocket: { maxSessions: 2, idleMs: 1000 } });
    // The first talks (a sentence that ends, then silence while it is spoken); the second says nothing.
    const first = await open(server);
    first.send({ type: 'session.config', response_format: 'pcm', seed: 7, max_new_tokens: 60 });
    first.send({ type: 'input.text', text: 'Still here. ' });
    const second = await open(server);
    const third = await open(server);
    expect(await third.next('error')).toMatchObject({ code: 'E_BUSY', message: expect.stringMatching(/2 sessions are open/) });
    expect(await third.closed).toMatchObject({ code: 1013 });
    expect(await second.next('error', 5000)).toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/idle for 1 s/) });
    expect(await second.closed).toMatchObject({ code: 1008, reason: 'idle' });
    await first.next('audio.done');
    expect(await first.closed).toMatchObject({ code: 1008, reason: 'idle' }); // spoken, then idle too
    // Their places are free again.
    const again = await open(server);
    again.send({ type: 'session.config', response_format: 'pcm', seed: 7, max_new_tokens: 40 });
    expect(await again.speak(['Hi.'])).toMatchObject({ total_sentences: 1 });
  });

  it('closes a session open longer than maxSessionMs (1008), stopping its work', async () => {
    const server = await serve({ websocket: { maxSessionMs: 1500 } });
    const client = await open(server);
    client.send({ type: 'session.config', response_format: 'pcm', seed: 7, max_new_tokens: 60 });
    for (let i = 0; i < 100 && client.ws.readyState === client.ws.OPEN; i += 1) {
      client.send({ type: 'input.text', text: 'More. ' });
      await sleep(50);
    }
    expect(await client.closed).toMatchObject({ code: 1008, reason: 'session too long' });
    expect(client.messages('error').at(-1)).toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/open for 1\.5 s/) });
    await waitFor(idle, 10_000, 'its generation stopped');
  });

  it('closes its sessions when the server closes (1001), stopping their generation', async () => {
    const server = await startServer(handler, { port: 0 });
    const client = await open(server);
    // Seed 10 makes this sentence run to about 1300 frames.
    client.send({ type: 'session.config', response_format: 'pcm', seed: 10, max_new_tokens: 3000 });
    client.send({ type: 'input.text', text: `${'word '.repeat(35)}end.` });
    client.send({ type: 'input.done' });
    await client.firstFrame();
    await server.close();
    expect(await client.closed).toMatchObject({ code: 1001 });
    expect(idle()).toBe(true);
  });
});
