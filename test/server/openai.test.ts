// The OpenAI-compatible routes of `serve`, driven by the official `openai` client over real HTTP
// on loopback with the tiny model: speech in every format (read back by soxi and opusinfo, raw
// PCM by its length and its samples), raw chunked streaming and server-sent events of every format
// (mp3 and opus through the client as valid files) whose first audio arrives while the generation
// still runs, the models and voices lists, errors in
// OpenAI's shape, and a streaming client that hangs up cancelling its generation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { FETCH_DISABLED, readFetchPolicy } from '../../lib/openai/fetch-reference.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';
import { tinyServeConfig, toneVoicesDir } from '../support/tiny-service.js';

const KEY = 'test-key';
let tts: HiggsAudio;
let handler: TtsHandler;
let server: RunningServer;
let client: OpenAI;
const work = mkdtempSync(join(tmpdir(), 'higgs-openai-'));

// Extensions beside OpenAI's fields (seed, max_new_tokens, ...) are sent as the client sends
// any body: the type says what OpenAI documents, the server reads the rest.
type SpeechBody = OpenAI.Audio.SpeechCreateParams & Record<string, unknown>;
const speech = (body: Partial<SpeechBody>) =>
  client.audio.speech.create({ model: 'tts-1', voice: 'tone', input: 'Hello there.', seed: 7, max_new_tokens: 60, ...body } as SpeechBody);

beforeAll(async () => {
  const config = tinyServeConfig({ HIGGS_SLOTS: '2', HIGGS_MAX_CONCURRENCY: '2', HIGGS_MAX_QUEUE: '0' }, { voicesDir: toneVoicesDir(work), maxContext: 4096 });
  tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }) });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  server = await startServer(handler, { port: 0, concurrency: 2, apiKey: KEY });
  client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await handler?.dispose();
});

const auth = { authorization: `Bearer ${KEY}` };

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** The sample bytes of a PCM WAV file (its `data` chunk). */
function wavSampleBytes(wav: Buffer): Buffer {
  for (let at = 12; at + 8 <= wav.length; ) {
    const size = wav.readUInt32LE(at + 4);
    if (wav.toString('ascii', at, at + 4) === 'data') return wav.subarray(at + 8, at + 8 + size);
    at += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** PCM16 streams decode window by window: equal to the whole file's samples up to float rounding. */
function expectSameSamples(streamed: Buffer, whole: Buffer): void {
  expect(streamed.length).toBe(whole.length);
  let worst = 0;
  for (let i = 0; i < whole.length; i += 2) worst = Math.max(worst, Math.abs(streamed.readInt16LE(i) - whole.readInt16LE(i)));
  expect(worst).toBeLessThanOrEqual(8);
}

function soxi(file: string): { rate: number; channels: number; samples: number } {
  const field = (flag: string) => Number(execFileSync('soxi', [flag, file], { encoding: 'utf8' }).trim());
  return { rate: field('-r'), channels: field('-c'), samples: field('-s') };
}

describe('OpenAI-compatible API through serve', () => {
  it('speaks in every response format, each read back by an independent reader', async () => {
    const wav = await speech({ response_format: 'wav' });
    expect(wav.headers.get('content-type')).toBe('audio/wav');
    const wavBytes = await bytesOf(wav);
    writeFileSync(join(work, 'a.wav'), wavBytes);
    const reference = soxi(join(work, 'a.wav'));
    expect(reference).toMatchObject({ rate: 24000, channels: 1 });
    expect(reference.samples).toBeGreaterThan(0);
    for (const [format, ext, type] of [['flac', 'flac', 'audio/flac'], ['mp3', 'mp3', 'audio/mpeg']] as const) {
      const response = await speech({ response_format: format });
      expect(response.headers.get('content-type')).toBe(type);
      const file = join(work, `a.${ext}`);
      writeFileSync(file, await bytesOf(response));
      const read = soxi(file);
      expect(read.channels, format).toBe(1);
      expect(read.rate, format).toBe(24000);
      // mp3 frames pad the ends; flac is lossless and exact.
      if (format === 'flac') expect(read.samples).toBe(reference.samples);
      else expect(Math.abs(read.samples - reference.samples)).toBeLessThan(2400);
    }
    const opus = await speech({ response_format: 'opus' });
    writeFileSync(join(work, 'a.opus'), await bytesOf(opus));
    expect(execFileSync('opusinfo', [join(work, 'a.opus')], { encoding: 'utf8' })).toContain('Channels: 1');
    // pcm: the same seed's samples with no header, 2 bytes each.
    const pcm = await bytesOf(await speech({ response_format: 'pcm' }));
    expect(pcm.length).toBe(reference.samples * 2);
    expect(pcm.equals(wavSampleBytes(wavBytes))).toBe(true);
  });

  it('streams raw PCM as it is decoded, the first bytes while the generation runs', async () => {
    const whole = await bytesOf(await speech({ response_format: 'pcm', max_new_tokens: 400 }));
    const response = await speech({ response_format: 'pcm', stream_format: 'audio', max_new_tokens: 400 });
    const reader = response.body!.getReader();
    const chunks: Buffer[] = [];
    let first = true;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (first) {
        first = false;
        expect(tts.health().requests.active).toBe(1); // still generating
      }
      chunks.push(Buffer.from(value));
    }
    expect(chunks.length).toBeGreaterThan(1);
    expectSameSamples(Buffer.concat(chunks), whole);
  });

  it('streams raw PCM at another rate, its content type naming the rate', async () => {
    const whole = await speech({ response_format: 'pcm', sample_rate: 16000, max_new_tokens: 200 });
    const streamed = await speech({ response_format: 'pcm', sample_rate: 16000, stream_format: 'audio', max_new_tokens: 200 });
    expect(whole.headers.get('content-type')).toBe('audio/pcm; channels=1; encoding=s16le; rate=16000');
    expect(streamed.headers.get('content-type')).toBe('audio/pcm; channels=1; encoding=s16le; rate=16000');
    expect((await bytesOf(streamed)).length).toBe((await bytesOf(whole)).length);
  });

  it('streams server-sent events: audio deltas while the generation runs, then done with usage', async () => {
    const whole = await bytesOf(await speech({ response_format: 'pcm', max_new_tokens: 400 }));
    const response = await speech({ response_format: 'pcm', stream_format: 'sse', max_new_tokens: 400 });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    let sawActive = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (text === '') sawActive = tts.health().requests.active === 1; // the first event: still generating
      text += Buffer.from(value).toString('utf8');
    }
    expect(sawActive).toBe(true);
    const events = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => JSON.parse(e.slice(6)) as { type: string; audio?: string; usage?: Record<string, number> });
    const deltas = events.filter((e) => e.type === 'speech.audio.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expectSameSamples(Buffer.concat(deltas.map((e) => Buffer.from(e.audio!, 'base64'))), whole);
    const done = events.at(-1)!;
    expect(done.type).toBe('speech.audio.done');
    expect(done.usage!.output_tokens).toBeGreaterThan(0);
    expect(done.usage!.total_tokens).toBe(done.usage!.input_tokens! + done.usage!.output_tokens!);
  });

  it('lists the models and the preset voices', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(['higgs-audio-v2', 'tts-1', 'tts-1-hd', 'gpt-4o-mini-tts']);
    const voices = await fetch(`${server.url}/v1/audio/voices`, { headers: auth });
    expect(await voices.json()).toEqual({ voices: [{ id: 'tone', name: 'tone' }] });
  });

  it('takes a multipart speech body as its JSON twin, an uploaded ref_audio file included', async () => {
    const fields = { model: 'tts-1', input: 'Hello there.', voice: 'tone', response_format: 'wav', seed: '7', max_new_tokens: '40' };
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const viaForm = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: auth, body: form });
    expect(viaForm.status).toBe(200);
    const viaJson = await bytesOf(await speech({ response_format: 'wav', max_new_tokens: 40 }));
    expect((await bytesOf(viaForm)).equals(viaJson)).toBe(true);
    // A clip uploaded as a file is the same voice as the same clip inline as base64.
    const clip = execFileSync('cat', [join(work, 'voices', 'tone.wav')]);
    const upload = new FormData();
    for (const [k, v] of Object.entries({ input: 'Hello there.', response_format: 'wav', seed: '7', max_new_tokens: '40', ref_text: 'A tone.' })) upload.append(k, v);
    upload.append('ref_audio', new Blob([clip]), 'tone.wav');
    const uploaded = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: auth, body: upload });
    expect(uploaded.status).toBe(200);
    const inline = await bytesOf(await speech({ voice: undefined, ref_audio: clip.toString('base64'), ref_text: 'A tone.', response_format: 'wav', max_new_tokens: 40 }));
    expect((await bytesOf(uploaded)).equals(inline)).toBe(true);
  });

  it('creates, lists, uses and deletes a preset voice with multipart uploads', async () => {
    const sample = join(work, 'low.flac');
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', sample, 'synth', '1.5', 'sine', '180']);
    const create = (name: string, headers = auth) => {
      const form = new FormData();
      form.append('name', name);
      form.append('audio_sample', new Blob([execFileSync('cat', [sample])]), 'low.flac');
      form.append('ref_text', 'A low tone.');
      return fetch(`${server.url}/v1/audio/voices`, { method: 'POST', headers, body: form });
    };
    const created = await create('low');
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ id: 'low', name: 'low' });
    const list = await (await fetch(`${server.url}/v1/audio/voices`, { headers: auth })).json();
    expect(list).toEqual({ voices: [{ id: 'low', name: 'low' }, { id: 'tone', name: 'tone' }] });
    expect((await bytesOf(await speech({ voice: 'low', response_format: 'wav', max_new_tokens: 30 }))).length).toBeGreaterThan(44);
    // Taken names, names that could leave the directory, a wrong key.
    const again = await create('low');
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: { code: 'E_INPUT', message: expect.stringContaining('exists') } });
    for (const bad of ['../evil', 'a/b', '.hidden', 'x'.repeat(65)]) expect((await create(bad)).status, bad).toBe(400);
    expect((await create('other', { authorization: 'Bearer wrong' })).status).toBe(401);
    const evil = await fetch(`${server.url}/v1/audio/voices/..%2Ftone`, { method: 'DELETE', headers: auth });
    expect(evil.status).toBe(400);
    const removed = await fetch(`${server.url}/v1/audio/voices/low`, { method: 'DELETE', headers: auth });
    expect(await removed.json()).toEqual({ id: 'low', deleted: true });
    const gone = await fetch(`${server.url}/v1/audio/voices/low`, { method: 'DELETE', headers: auth });
    expect(gone.status).toBe(404);
    expect((await (await fetch(`${server.url}/v1/audio/voices`, { headers: auth })).json()).voices).toEqual([{ id: 'tone', name: 'tone' }]);
  });

  it('streams mp3 and opus, raw and as events, as valid files whose first bytes left while the generation ran', async () => {
    for (const [format, ext, type] of [['mp3', 'mp3', 'audio/mpeg'], ['opus', 'opus', 'audio/ogg; codecs=opus']] as const) {
      const whole = await bytesOf(await speech({ response_format: format, max_new_tokens: 400 }));
      for (const stream_format of ['audio', 'sse'] as const) {
        const label = `${format} ${stream_format}`;
        // OpenAI's default response_format is mp3: a stream without one is an mp3 stream.
        const response = await speech({ ...(format === 'mp3' ? {} : { response_format: format }), stream_format, max_new_tokens: 400 });
        expect(response.headers.get('content-type'), label).toBe(stream_format === 'sse' ? 'text/event-stream' : type);
        const reader = response.body!.getReader();
        const pieces: Buffer[] = [];
        let generatingAtFirst: boolean | undefined;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          generatingAtFirst ??= tts.health().requests.active === 1;
          pieces.push(Buffer.from(value));
        }
        expect(generatingAtFirst, label).toBe(true);
        let bytes = Buffer.concat(pieces);
        if (stream_format === 'sse') {
          const events = bytes
            .toString('utf8')
            .split('\n\n')
            .filter((e) => e.startsWith('data: '))
            .map((e) => JSON.parse(e.slice(6)) as { type: string; audio?: string });
          const deltas = events.filter((e) => e.type === 'speech.audio.delta');
          expect(deltas.length, label).toBeGreaterThan(1);
          expect(events.at(-1)!.type).toBe('speech.audio.done');
          bytes = Buffer.concat(deltas.map((e) => Buffer.from(e.audio!, 'base64')));
        }
        const file = join(work, `streamed-${stream_format}.${ext}`);
        writeFileSync(file, bytes);
        if (format === 'opus') {
          const info = execFileSync('opusinfo', [file], { encoding: 'utf8' });
          expect(info, label).toContain('Channels: 1');
          expect(info, label).not.toMatch(/WARNING|ERROR/);
          writeFileSync(join(work, 'whole.opus'), whole);
          const playback = (text: string) => /Playback length: (.*)/.exec(text)?.[1];
          expect(playback(info), label).toBe(playback(execFileSync('opusinfo', [join(work, 'whole.opus')], { encoding: 'utf8' })));
        } else {
          writeFileSync(join(work, 'whole.mp3'), whole);
          // The stream has no Xing header (it would be written last): its constant-bitrate frames
          // hold the same audio plus one silent first frame.
          const read = soxi(file);
          expect(read, label).toMatchObject({ rate: 24000, channels: 1 });
          expect(Math.abs(read.samples - soxi(join(work, 'whole.mp3')).samples), label).toBeLessThanOrEqual(2 * 1152);
        }
      }
    }
  });

  it('answers bad requests in OpenAI error shape, naming the field', async () => {
    const failure = async (body: Partial<SpeechBody>, c = client) => {
      try {
        await (c === client ? speech(body) : c.audio.speech.create({ model: 'tts-1', voice: 'tone', input: 'Hi.' }));
      } catch (error) {
        expect(error).toBeInstanceOf(OpenAI.APIError);
        return error as InstanceType<typeof OpenAI.APIError>;
      }
      throw new Error('expected a failure');
    };
    const voice = await failure({ voice: 'alloy' });
    expect(voice).toMatchObject({ status: 400, param: 'voice', code: 'E_INPUT', type: 'invalid_request_error' });
    expect(voice.message).toContain('alloy');
    // A name no preset can have is refused by the rule of ref_audio, which the voice becomes: the
    // answer still names the field the client sent.
    const badName = await failure({ voice: '../etc/passwd' });
    expect(badName).toMatchObject({ status: 400, param: 'voice', code: 'E_INPUT' });
    expect(badName.message).toContain('must be a preset name');
    const format = await failure({ response_format: 'aac' as 'mp3' });
    expect(format).toMatchObject({ status: 400, param: 'response_format' });
    expect(format.message).toContain('mp3, opus, flac, wav, pcm');
    expect(await failure({ input: 'x'.repeat(10_001) })).toMatchObject({ status: 400, param: 'input' });
    // Nothing to say is refused as special tokens alone are, not spoken as seconds of noise.
    for (const input of ['\u0000\u0001\u0002', ' \t ', '?!...', '[SPEAKER0]']) {
      const nothing = await failure({ input, seed: 1 });
      expect(nothing, JSON.stringify(input)).toMatchObject({ status: 400, param: 'input', code: 'E_INPUT' });
      expect(nothing.message).toMatch(/nothing to say|must not be empty/);
    }
    expect(await failure({ speed: 5 })).toMatchObject({ status: 400, param: 'speed' });
    const codes = await failure({ response_format: 'codes' as 'mp3', stream_format: 'audio' });
    expect(codes).toMatchObject({ status: 400, param: 'response_format' });
    expect(codes.message).toContain('streams: mp3, opus, flac, wav, pcm, ulaw, alaw');
    const wrongKey = new OpenAI({ apiKey: 'wrong', baseURL: `${server.url}/v1`, maxRetries: 0 });
    expect(await failure({}, wrongKey)).toMatchObject({ status: 401, type: 'authentication_error' });
  });

  it('answers 429 with Retry-After when every slot is taken and nothing may wait', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const running = controllers.map((c, i) =>
      fetch(`${server.url}/v1/audio/speech`, {
        method: 'POST',
        signal: c.signal,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        // Seeds whose generations run to the frame cap (a random seed may end early).
        body: JSON.stringify({ model: 'tts-1', input: 'A long one that keeps going.', response_format: 'pcm', stream: true, seed: i + 1, max_new_tokens: 3000 }),
      }),
    );
    const answers = await Promise.all(running); // both streaming: both slots are taken
    expect(tts.health().requests).toMatchObject({ active: 2, queued: 0 });
    const busy = await fetch(`${server.url}/v1/audio/speech`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tts-1', input: 'Hi.' }),
    });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('5');
    expect(await busy.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'E_BUSY' } });
    for (const c of controllers) c.abort();
    await Promise.allSettled(answers.map((a) => a.body?.cancel()));
  });

  it('cancels the generation of a streaming client that hangs up, and serves the next request', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/audio/speech`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tts-1', input: 'A long one that keeps going.', response_format: 'pcm', stream: true, seed: 3, max_new_tokens: 3000 }),
    });
    const reader = response.body!.getReader();
    await reader.read(); // the first audio
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
    // 3000 frames would take far longer: the generation stops, its slot frees.
    const idle = () => tts.health().requests.active === 0 && tts.health().batch?.busy === 0;
    for (let i = 0; i < 200 && !idle(); i += 1) await new Promise((r) => setTimeout(r, 25));
    expect(idle()).toBe(true);
    const next = await bytesOf(await speech({ response_format: 'pcm', max_new_tokens: 30 }));
    expect(next.length).toBeGreaterThan(0);
  });
});

describe('an http(s) ref_audio URL', () => {
  it('is refused unless the operator allows fetching, and then only from public or allowed hosts', async () => {
    const clip = execFileSync('cat', [join(work, 'voices', 'tone.wav')]);
    const files = createServer((req, res) => {
      if (req.url === '/tone.wav') return void res.end(clip);
      if (req.url === '/moved') return void res.writeHead(302, { location: '/tone.wav' }).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
    const port = (files.address() as AddressInfo).port;
    const body = (path: string) => ({ model: 'tts-1', input: 'Hello there.', ref_audio: `http://127.0.0.1:${port}${path}`, ref_text: 'A tone.', response_format: 'wav', seed: 7, max_new_tokens: 40 });
    const message = async (work: Promise<unknown>) => ((await work.then(() => null, (e: Error) => e)) as Error | null)?.message ?? 'no error';
    try {
      // serve's default: off.
      const off = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body('/tone.wav')) });
      expect(off.status).toBe(400);
      expect(await off.json()).toMatchObject({ error: { param: 'ref_audio', message: expect.stringContaining('HIGGS_REF_AUDIO_FETCH=1') } });
      // On: a loopback host is refused like a job's private S3 endpoint...
      const publicOnly = createTtsHandler(tts, null, { refAudioFetch: readFetchPolicy({ HIGGS_REF_AUDIO_FETCH: '1' }) }).speech;
      expect(await message(publicOnly.file(body('/tone.wav')))).toMatch(/ref_audio: URL host 127\.0\.0\.1 is a loopback.*HIGGS_REF_AUDIO_ALLOWED_HOSTS/);
      // ...unless the operator names it; then the fetched clip is the same voice as the clip inline.
      const allowed = readFetchPolicy({ HIGGS_REF_AUDIO_FETCH: '1', HIGGS_REF_AUDIO_ALLOWED_HOSTS: `127.0.0.1:${port}` });
      const speech = createTtsHandler(tts, null, { refAudioFetch: allowed }).speech;
      const fetched = await speech.file(body('/tone.wav'));
      const inline = await speech.file({ ...body(''), ref_audio: clip.toString('base64') });
      expect(fetched.audio.equals(inline.audio)).toBe(true);
      expect(await message(speech.file(body('/moved')))).toContain('redirects are not followed');
      expect(await message(speech.file(body('/missing')))).toContain('HTTP 404');
      const small = createTtsHandler(tts, null, { refAudioFetch: { ...allowed, maxBytes: 1000 } }).speech;
      expect(await message(small.file(body('/tone.wav')))).toContain('over the 1000 byte limit');
      expect(FETCH_DISABLED.enabled).toBe(false);
      expect(() => readFetchPolicy({ HIGGS_REF_AUDIO_FETCH: 'yes' })).toThrow(/HIGGS_REF_AUDIO_FETCH/);
    } finally {
      files.close();
    }
  });
});

describe('a read-only voices directory', () => {
  it('refuses to store a voice with a 403 in OpenAI shape', async () => {
    // sysfs: no file can be created there, not even by root.
    const readOnly = new HiggsAudio({
      config: { ...loadConfig({ HIGGS_DEVICE: 'cpu' }), modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: '/sys/kernel', maxContext: 1024 },
      logger: createLogger({ level: 'silent' }),
    });
    const roHandler = createTtsHandler(readOnly, null);
    await roHandler.ready();
    const roServer = await startServer(roHandler, { port: 0 });
    try {
      const form = new FormData();
      form.append('name', 'new');
      form.append('audio_sample', new Blob([execFileSync('cat', [join(work, 'voices', 'tone.wav')])]), 'tone.wav');
      form.append('ref_text', 'A tone.');
      const answer = await fetch(`${roServer.url}/v1/audio/voices`, { method: 'POST', body: form });
      expect(answer.status).toBe(403);
      expect(await answer.json()).toMatchObject({ error: { type: 'permission_error', code: 'E_INPUT', message: expect.stringContaining('read-only') } });
    } finally {
      await roServer.close();
      await roHandler.dispose();
    }
  });
});
