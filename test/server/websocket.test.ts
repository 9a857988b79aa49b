// serve's text-in WebSocket /v1/audio/speech/stream (issue 32), driven by a real `ws` client on
// loopback with the tiny model: word-by-word text whose first sentence is spoken before the
// input ends, sentences in order with their audio and their place in the output, one WAV file
// per sentence, the same audio for the same seed however the text arrives, a cancel
// mid-sentence, bad messages and too much text answered with errors while the session goes on,
// and the API key as HTTP takes it (a header, or ?api_key= for browsers), never logged.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer, type ServeOptions } from '../../lib/server/server.js';
import { tinyServeConfig, toneVoicesDir } from '../support/tiny-service.js';
import { SpeechSocket, sleep, waitFor, type Sentence } from './websocket-client.js';

const KEY = 'ws-test-key';
let tts: HiggsAudio;
let handler: TtsHandler;
let server: RunningServer;
const servers: RunningServer[] = [];
const logLines: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'higgs-ws-'));

beforeAll(async () => {
  const config = tinyServeConfig({ HIGGS_SLOTS: '2', HIGGS_MAX_CONCURRENCY: '2', HIGGS_MAX_QUEUE: '0' }, { voicesDir: toneVoicesDir(work), maxContext: 8192 });
  tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }) });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await serve();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await handler?.dispose();
});

async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  const started = await startServer(handler, { port: 0, concurrency: 2, apiKey: KEY, logger, ...options });
  servers.push(started);
  return started;
}

const open = (target = server) => SpeechSocket.open(target, { key: KEY });
const idle = () => tts.health().requests.active === 0 && tts.health().requests.queued === 0;

/** Every sentence came whole: started, its frames, done with as many bytes, back to back on the timeline. */
function expectWholeSentences(sentences: Sentence[], texts: string[]): void {
  expect(sentences.map((s) => s.start.sentence_text)).toEqual(texts);
  let end = 0;
  sentences.forEach((sentence, index) => {
    expect(sentence.start.sentence_index).toBe(index);
    expect(sentence.done).toMatchObject({ sentence_index: index, status: 'done', error: false, total_bytes: sentence.audio.length });
    expect(sentence.audio.length).toBeGreaterThan(0);
    expect(sentence.done!.start_seconds).toBeCloseTo(end, 6);
    expect(sentence.done!.end_seconds).toBeGreaterThan(sentence.done!.start_seconds);
    // A cap hit is never silent: truncated says whether any chunk stopped short of the model's end.
    expect(sentence.done!.truncated).toBe(sentence.done!.stop_reasons.some((r: string) => r !== 'audio_end'));
    expect(sentence.done!.stop_reasons.length).toBeGreaterThan(0);
    expect(sentence.done!.timing).toMatchObject({ queued_seconds: expect.any(Number), first_byte_seconds: expect.any(Number), generate_seconds: expect.any(Number) });
    end = sentence.done!.end_seconds;
  });
}

/** Two WAV streams of the same codes: the same header and length, samples within float rounding. */
function expectSameSamples(streamed: Buffer, expected: Buffer): void {
  expect(streamed.length).toBe(expected.length);
  expect(streamed.subarray(0, 44)).toEqual(expected.subarray(0, 44));
  let worst = 0;
  for (let i = 44; i + 1 < expected.length; i += 2) worst = Math.max(worst, Math.abs(streamed.readInt16LE(i) - expected.readInt16LE(i)));
  expect(worst).toBeLessThanOrEqual(8);
}

describe('the text-in WebSocket /v1/audio/speech/stream', () => {
  it('speaks word-by-word text as it comes: the first audio.start before input.done, three sentences in order with their audio', async () => {
    const client = await open();
    client.send({ type: 'session.config', voice: 'tone', response_format: 'pcm', seed: 7, max_new_tokens: 300 });
    const words = 'Hello there. How are you today? I am fine, thanks'.split(' ');
    for (const [i, word] of words.entries()) {
      client.send({ type: 'input.text', text: i === 0 ? word : ` ${word}` });
      await sleep(20);
      if (word === 'How') {
        // The first sentence ended with the space before "How": it is spoken while the text goes on.
        const first = await client.next('audio.start');
        expect(first).toEqual({ type: 'audio.start', sentence_index: 0, sentence_text: 'Hello there.', format: 'pcm', sample_rate: 24000 });
      }
    }
    client.send({ type: 'input.text', text: '.' }); // the last sentence ends with input.done
    client.send({ type: 'input.done' });
    const done = await client.next('session.done');
    const sentences = client.sentences();
    expectWholeSentences(sentences, ['Hello there.', 'How are you today?', 'I am fine, thanks.']);
    // pcm: raw PCM16 at the session's rate, so each sentence's seconds are its bytes.
    for (const { audio, done: report } of sentences) {
      expect(report!.end_seconds - report!.start_seconds).toBeCloseTo(audio.length / 2 / 24000, 5);
      expect(report).toMatchObject({ seed: 7, result_hash: expect.stringMatching(/^[0-9a-f]{64}$/), usage: { output_tokens: expect.any(Number) } });
    }
    expect(done).toEqual({ type: 'session.done', total_sentences: 3, audio_seconds: sentences[2]!.done!.end_seconds, seed: 7 });
    expect(await client.closed).toMatchObject({ code: 1000 });
    expect(client.messages('error')).toEqual([]);
  });

  it('gives each WAV sentence its own header, and the same audio for the same seed and text however the text arrives', async () => {
    const text = 'One sentence here. Another one follows! And a third?';
    const run = async (pieces: string[]) => {
      const client = await open();
      client.send({ type: 'session.config', voice: 'tone', response_format: 'wav', seed: 11, max_new_tokens: 200 });
      await client.speak(pieces);
      return client.sentences();
    };
    const whole = await run([text]);
    const byChar = await run([...text]);
    expectWholeSentences(whole, ['One sentence here.', 'Another one follows!', 'And a third?']);
    for (const sentence of whole) {
      expect(sentence.start.format).toBe('wav');
      expect(sentence.audio.toString('ascii', 0, 4)).toBe('RIFF');
      expect(sentence.audio.toString('ascii', 8, 12)).toBe('WAVE');
      expect(sentence.audio.readUInt32LE(24)).toBe(24000);
      expect(sentence.done!.end_seconds - sentence.done!.start_seconds).toBeCloseTo((sentence.audio.length - 44) / 2 / 24000, 5);
    }
    // The same codes (equal result hashes); the samples equal up to the float rounding of decode
    // windows, whose bounds depend on how fast frames arrived.
    expect(byChar.map((s) => s.done!.result_hash)).toEqual(whole.map((s) => s.done!.result_hash));
    byChar.forEach((sentence, i) => expectSameSamples(sentence.audio, whole[i]!.audio));
    // A sentence's prompt carries the sentences before it: alone, the same sentence's prompt is shorter.
    const [alone] = await run(['Another one follows!']);
    expect(alone!.done!.usage.input_tokens).toBeLessThan(whole[1]!.done!.usage.input_tokens);
    expect(alone!.done!.result_hash).not.toBe(whole[1]!.done!.result_hash);
  });

  it('cancels mid-sentence: that sentence ends cancelled, what waits is dropped, and the session goes on', async () => {
    const client = await open();
    const cancelledBefore = tts.health().requests.cancelled;
    // Seed 10 makes this sentence run to about 1300 frames: still generating when the cancel comes.
    client.send({ type: 'session.config', response_format: 'pcm', seed: 10, max_new_tokens: 3000 });
    client.send({ type: 'input.text', text: `${'word '.repeat(35)}end. This one waits. And the rest is pend` });
    await client.firstFrame();
    client.send({ type: 'input.cancel' });
    const cancelled = await client.next('input.cancelled');
    expect(cancelled).toEqual({ type: 'input.cancelled', dropped_sentences: 1 });
    const [stopped] = client.sentences();
    expect(stopped!.done).toMatchObject({ sentence_index: 0, status: 'cancelled', error: false, start_seconds: 0, total_bytes: stopped!.audio.length });
    expect(stopped!.done!.end_seconds).toBeCloseTo(stopped!.audio.length / 2 / 24000, 5);
    // Nothing of it comes after its audio.done, and input.cancelled comes after that.
    const order = client.received.map((m) => (Buffer.isBuffer(m) ? 'audio' : m.type));
    expect(order.slice(order.indexOf('audio.done'))).toEqual(['audio.done', 'input.cancelled']);
    await waitFor(idle, 10_000, 'the generation stopped');
    expect(tts.health().requests.cancelled).toBeGreaterThan(cancelledBefore);

    await client.speak(['Short one.']);
    const sentences = client.sentences();
    expect(sentences.map((s) => [s.start.sentence_index, s.start.sentence_text, s.done!.status])).toEqual([
      [0, 'word '.repeat(35) + 'end.', 'cancelled'],
      [1, 'Short one.', 'done'],
    ]);
    expect(sentences[1]!.done!.start_seconds).toBe(stopped!.done!.end_seconds);
    expect(client.messages('session.done')).toEqual([expect.objectContaining({ total_sentences: 2 })]);
  });

  it('answers bad messages with errors and goes on', async () => {
    const client = await open();
    const expectError = async (send: unknown, pattern: RegExp, code = 'E_INPUT') => {
      const count = client.messages('error').length;
      client.send(send);
      await client.next(() => client.messages('error').length > count);
      const last = client.messages('error').at(-1)!;
      expect(last).toMatchObject({ type: 'error', code });
      expect(last.message).toMatch(pattern);
    };
    await expectError(Buffer.from([1, 2, 3]), /binary frames/);
    await expectError('{not json', /not valid JSON/);
    await expectError('[1, 2]', /JSON object/);
    await expectError({ text: 'no type' }, /type: missing/);
    await expectError({ type: 'speak.now' }, /type: "speak\.now"; one of session\.config, input\.text/);
    await expectError({ type: 'input.text', text: 'Hi.' }, /send session\.config first/);
    // The config is checked as a POST /v1/audio/speech body is: each bad field named.
    await expectError({ type: 'session.config', speed: 5 }, /speed/);
    await expectError({ type: 'session.config', voice: '../etc/passwd' }, /voice: .*must be a preset name/);
    await expectError({ type: 'session.config', response_format: 'aac' }, /response_format/);
    await expectError({ type: 'session.config', seed: 'seven' }, /seed/);
    await expectError({ type: 'session.config', input: 'Hello.' }, /input: not taken here/);
    client.send({ type: 'session.config', response_format: 'pcm', seed: 7, max_new_tokens: 100 });
    await expectError({ type: 'session.config', response_format: 'wav' }, /configured already/);
    await expectError({ type: 'input.text', text: 5 }, /text must be a string/);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    await client.speak(['All good.']);
    expect(client.sentences().map((s) => s.done!.status)).toEqual(['done']);
  });

  it('refuses too much text with an error, keeping the session and what it took', async () => {
    const bounded = await serve({ websocket: { maxBufferedChars: 300, maxSessionChars: 350 } });
    const client = await open(bounded);
    client.send({ type: 'session.config', response_format: 'pcm', seed: 7, max_new_tokens: 60 });
    const errorAfter = async (text: string) => {
      const count = client.messages('error').length;
      client.send({ type: 'input.text', text });
      await client.next(() => client.messages('error').length > count);
      return client.messages('error').at(-1)!;
    };
    expect(await errorAfter('x'.repeat(301))).toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(/301 characters in one piece; at most 300/) });
    client.send({ type: 'input.text', text: 'a '.repeat(140) }); // no sentence end yet: it all waits
    // Too much waiting is "later", not "never": E_BUSY, and the piece is not taken.
    expect(await errorAfter('b '.repeat(20))).toMatchObject({ code: 'E_BUSY', message: expect.stringMatching(/wait to be spoken and at most 300/) });
    expect(await errorAfter('c'.repeat(80))).toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(/a session takes at most 350 characters/) });
    await client.speak(['End.']);
    expect(client.sentences().map((s) => s.start.sentence_text)).toEqual([`${'a '.repeat(140)}End.`]);
    expect(client.sentences()[0]!.done!.status).toBe('done');
  });

  it('streams mp3: each sentence a file of its own', async () => {
    const client = await open();
    client.send({ type: 'session.config', voice: 'tone', response_format: 'mp3', seed: 7, max_new_tokens: 100 });
    await client.speak(['Hello there. Bye now.']);
    expect(client.messages('error')).toEqual([]);
    const sentences = client.sentences();
    expect(sentences.map((s) => s.start.format)).toEqual(['mp3', 'mp3']);
    for (const { audio } of sentences) {
      const id3 = audio.toString('ascii', 0, 3) === 'ID3';
      expect(id3 || (audio[0] === 0xff && (audio[1]! & 0xe0) === 0xe0)).toBe(true);
    }
  });

  it('takes the API key as HTTP does (Authorization header, or ?api_key= for browsers), refuses other paths, and never logs the key', async () => {
    await expect(SpeechSocket.open(server)).rejects.toMatchObject({ status: 401 });
    await expect(SpeechSocket.open(server, { key: 'wrong' })).rejects.toMatchObject({ status: 401 });
    await expect(SpeechSocket.open(server, { query: '?api_key=wrong' })).rejects.toMatchObject({ status: 401 });
    await expect(SpeechSocket.open(server, { key: KEY, path: '/v1/audio/speech' })).rejects.toMatchObject({ status: 404 });
    await expect(SpeechSocket.open(server, { key: KEY, path: '/v1/realtime' })).rejects.toMatchObject({ status: 404 });
    const browser = await SpeechSocket.open(server, { query: `?api_key=${KEY}` });
    browser.send({ type: 'session.config', response_format: 'pcm', seed: 7, max_new_tokens: 40 });
    await browser.speak(['Hi.']);
    expect(await browser.closed).toMatchObject({ code: 1000 });
    expect(logLines.some((line) => line.includes('ws.session.open'))).toBe(true);
    expect(logLines.filter((line) => line.includes(KEY) || line.includes('api_key'))).toEqual([]);
  });
});
