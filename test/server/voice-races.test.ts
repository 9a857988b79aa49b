// Issue 31: voice names under concurrency, over real HTTP on loopback. Parallel uploads of one
// name: exactly one wins and the stored files are all the winner's; a failed upload never removes
// the voice another upload stored; a save_voice whose name is taken while it generates still
// completes with its audio and reports the voice as not saved, and so does one whose voice cannot
// be written after the generation.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { toPresetWav } from '../../lib/audio/codec.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

const work = mkdtempSync(join(tmpdir(), 'higgs-voice-races-'));
const voicesDir = join(work, 'voices');
const JOBS = 6;
let handler: TtsHandler;
let server: RunningServer;
const lines: string[] = [];

beforeAll(async () => {
  // Room for JOBS generations at once, so that every one of them passes the check before its work.
  const config = {
    ...loadConfig({ HIGGS_DEVICE: 'cpu', HIGGS_SLOTS: String(JOBS), HIGGS_MAX_CONCURRENCY: String(JOBS), HIGGS_MAX_QUEUE: '16' }),
    modelDir: tinyHfDir,
    codecDir: join(goldensDir, 'codec'),
    voicesDir,
    maxContext: 4096,
  };
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  handler = createTtsHandler(new HiggsAudio({ config, logger }), null);
  await handler.ready();
  server = await startServer(handler, { port: 0, concurrency: 16 });
});

afterAll(async () => {
  await server?.close();
  await handler?.dispose();
});

/** `seconds` of a sine at `hz` as a 16-bit WAV file's bytes. */
function sine(seconds: number, hz: number): Buffer {
  const file = join(work, `sine-${seconds}-${hz}.wav`);
  execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', String(hz)]);
  return readFileSync(file);
}

function upload(name: string, audio: Buffer, text: string): Promise<Response> {
  const form = new FormData();
  form.append('name', name);
  form.append('audio_sample', new Blob([new Uint8Array(audio)]), 'clip.wav');
  form.append('ref_text', text);
  return fetch(`${server.url}/v1/audio/voices`, { method: 'POST', body: form });
}

const listed = async (): Promise<string[]> =>
  ((await (await fetch(`${server.url}/v1/audio/voices`)).json()) as { voices: { id: string }[] }).voices.map((v) => v.id);

const runsync = async (input: Record<string, unknown>): Promise<Record<string, any>> =>
  (await fetch(`${server.url}/runsync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) })).json();

const file = (name: string) => join(voicesDir, name);

describe('POST /v1/audio/voices with one name at once', () => {
  it('lets exactly one of 8 parallel uploads win; the others get the taken error; every stored file is the winner’s', async () => {
    const clips = Array.from({ length: 8 }, (_, i) => sine(1 + i * 0.1, 200 + 40 * i));
    for (let round = 0; round < 5; round++) {
      const name = `race${round}`;
      const answers = await Promise.all(clips.map((clip, i) => upload(name, clip, `Upload number ${i} of round ${round}.`)));
      const winners = answers.flatMap((answer, i) => (answer.ok ? [i] : []));
      expect(winners, `round ${round}: statuses ${answers.map((a) => a.status).join(',')}`).toHaveLength(1);
      for (const answer of answers.filter((a) => !a.ok)) {
        expect(answer.status).toBe(400);
        expect(await answer.json()).toMatchObject({ error: { code: 'E_INPUT', message: `voice "${name}" exists already: delete it first` } });
      }
      const w = winners[0]!;
      expect(readFileSync(file(`${name}.txt`), 'utf8')).toBe(`Upload number ${w} of round ${round}.`);
      expect(readFileSync(file(`${name}.wav`)).equals(await toPresetWav(clips[w]!))).toBe(true);
      expect(existsSync(file(`${name}.codes.json`))).toBe(false); // an upload has no codes file
      expect(await listed()).toContain(name);
    }
  });

  it('keeps the valid voice when a too-short upload of the same name fails', async () => {
    const valid = sine(1, 300);
    const short = sine(0.001, 300); // 24 samples: fewer than the codec encoder needs for one frame
    for (let trial = 0; trial < 12; trial++) {
      const name = `pair${trial}`;
      const [good, bad] = await Promise.all([upload(name, valid, 'A valid tone.'), upload(name, short, 'Too short.')]);
      expect(good.status, await good.clone().text()).toBe(200);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'E_INPUT' } });
      expect(readFileSync(file(`${name}.txt`), 'utf8')).toBe('A valid tone.');
      expect(readFileSync(file(`${name}.wav`)).equals(await toPresetWav(valid))).toBe(true);
      expect(await listed()).toContain(name);
    }
  });
});

describe('save_voice: what is known only after the generation never throws the work away', () => {
  // A transcript long enough that the tiny model generates for a while (seeded: it never stops at once).
  const long = Array.from({ length: 6 }, (_, i) => `Sentence number ${i} is spoken here.`).join(' ');

  it('completes with the audio and reports the voice as not saved', async () => {
    const started = lines.length;
    const job = runsync({ transcript: long, seed: 9, max_new_tokens: 400, save_voice: 'late' });
    // The job is admitted (and its early check runs) before it generates; the upload lands meanwhile.
    while (!lines.slice(started).some((line) => line.includes('"request.start"'))) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    const taken = await upload('late', sine(1, 250), 'Taken first.');
    expect(taken.status, await taken.clone().text()).toBe(200);
    const result = await job;
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETED');
    expect(Buffer.from(result.output.audio_base64, 'base64').subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(result.output.saved_voice).toEqual({ name: 'late', saved: false, reason: expect.stringContaining('exists already') });
    // The upload's voice is untouched: the job wrote nothing under its name.
    expect(readFileSync(file('late.txt'), 'utf8')).toBe('Taken first.');
    expect(existsSync(file('late.codes.json'))).toBe(false);
  });

  it('completes with the audio when the voice cannot be written after the generation, and says why', async () => {
    const started = lines.length;
    const job = runsync({ transcript: long, seed: 9, max_new_tokens: 400, save_voice: 'unwritable' });
    while (!lines.slice(started).some((line) => line.includes('"request.start"'))) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    // The directory checked before the work is replaced by a file while the job generates.
    renameSync(voicesDir, `${voicesDir}.aside`);
    writeFileSync(voicesDir, 'not a directory');
    let result: Record<string, any>;
    try {
      result = await job;
    } finally {
      rmSync(voicesDir);
      renameSync(`${voicesDir}.aside`, voicesDir);
    }
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETED');
    expect(result.output.audio_base64.length).toBeGreaterThan(100);
    expect(result.output.saved_voice).toEqual({ name: 'unwritable', saved: false, reason: expect.stringContaining('cannot be written') });
    expect(lines.slice(started).some((line) => line.includes('"save_voice.skipped"'))).toBe(true); // and the server log says so
  });

  it(`completes all of ${JOBS} parallel jobs with one save_voice name, and saves exactly one`, async () => {
    const results = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => runsync({ transcript: `Job ${i} speaks now.`, seed: 10 + i, max_new_tokens: 120, save_voice: 'shared' })),
    );
    for (const result of results) {
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETED');
      expect(result.output.audio_base64.length).toBeGreaterThan(100);
    }
    const saved = results.filter((r) => r.output.saved_voice.saved);
    expect(saved).toHaveLength(1);
    for (const r of results.filter((x) => !x.output.saved_voice.saved)) {
      expect(r.output.saved_voice).toEqual({ name: 'shared', saved: false, reason: expect.stringContaining('exists already') });
    }
    // The stored preset is the saving job's: its transcript and all three files.
    const winner = results.indexOf(saved[0]!);
    expect(readFileSync(file('shared.txt'), 'utf8')).toBe(`Job ${winner} speaks now.`);
    const codes = JSON.parse(readFileSync(file('shared.codes.json'), 'utf8')) as { frames: number };
    expect(codes.frames).toBe(Math.round(saved[0]!.output.duration_seconds * 25));
    expect(await listed()).toContain('shared');
  });
});
