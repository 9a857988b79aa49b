// Output options of a request (issue 18, part): raw PCM at a chosen sample rate (resampled with
// libsoxr), the G.711 telephony formats in WAV read back by soxi, the ElevenLabs-style aliases
// and their conflicts, streams of every format and rate, and each chunk's place in the output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createLogger } from '../../lib/common/log.js';
import { SAMPLE_RATES } from '../../lib/request/defaults.js';
import { loadNative } from '../../lib/native/loader.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

let tts: HiggsAudio;
const work = mkdtempSync(join(tmpdir(), 'higgs-formats-'));
const request = (extra: Record<string, unknown> = {}) => ({ transcript: 'The sun rises in the east.', seed: 7, max_new_tokens: 60, ...extra });

beforeAll(async () => {
  tts = new HiggsAudio({
    config: { ...loadConfig({ HIGGS_DEVICE: 'cpu' }), modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), voicesDir: null, maxContext: 2048 },
    logger: createLogger({ level: 'silent' }),
  });
  await tts.load();
});

afterAll(() => tts.dispose());

function soxi(bytes: Buffer, name: string): { rate: number; samples: number; encoding: string } {
  const file = join(work, name);
  writeFileSync(file, bytes);
  const field = (flag: string) => execFileSync('soxi', [flag, file], { encoding: 'utf8' }).trim();
  return { rate: Number(field('-r')), samples: Number(field('-s')), encoding: field('-e') };
}

describe('output formats and sample rates', () => {
  it('writes raw PCM16 at every offered rate, its length following the frames', async () => {
    const reference = await tts.generate(request({ output_format: 'wav' }));
    const samples24k = soxi(reference.audio, 'ref.wav').samples;
    expect(samples24k).toBe(Math.round(reference.durationSeconds * 24000));
    for (const rate of SAMPLE_RATES) {
      const out = await tts.generate(request({ output_format: 'pcm', sample_rate: rate }));
      expect(out).toMatchObject({ format: 'pcm', sampleRate: rate });
      // soxr keeps the duration: samples = seconds * rate, to within one sample.
      expect(Math.abs(out.audio.length / 2 - samples24k * (rate / 24000)), `rate ${rate}`).toBeLessThanOrEqual(1);
      expect(out.durationSeconds).toBe(reference.durationSeconds);
    }
    // At 24 kHz raw PCM is the WAV's samples, byte for byte.
    const pcm = await tts.generate(request({ output_format: 'pcm' }));
    expect(pcm.audio.equals(reference.audio.subarray(reference.audio.length - pcm.audio.length))).toBe(true);
    expect(reference.audio.length - pcm.audio.length).toBe(44);
  });

  it('writes mu-law and A-law WAV at 8 kHz by default, read back by soxi', async () => {
    for (const [format, encoding] of [['ulaw', 'u-law'], ['alaw', 'A-law']] as const) {
      const out = await tts.generate(request({ output_format: format }));
      expect(out).toMatchObject({ format, sampleRate: 8000 });
      const read = soxi(out.audio, `a.${format}.wav`);
      expect(read.rate).toBe(8000);
      expect(read.encoding).toContain(encoding);
      expect(Math.abs(read.samples - out.durationSeconds * 8000)).toBeLessThanOrEqual(1);
      const wide = await tts.generate(request({ output_format: format, sample_rate: 16000 }));
      expect(soxi(wide.audio, `b.${format}.wav`).rate).toBe(16000);
    }
  });

  it('takes the aliases one to one and refuses a sample_rate that contradicts one', async () => {
    const alias = await tts.generate(request({ output_format: 'pcm_16000' }));
    const spelled = await tts.generate(request({ output_format: 'pcm', sample_rate: 16000 }));
    expect(alias).toMatchObject({ format: 'pcm', sampleRate: 16000 });
    expect(alias.audio.equals(spelled.audio)).toBe(true);
    expect((await tts.generate(request({ output_format: 'ulaw_8000' }))).format).toBe('ulaw');
    await expect(tts.generate(request({ output_format: 'pcm_16000', sample_rate: 8000 }))).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringContaining('sample_rate'),
    });
    await expect(tts.generate(request({ sample_rate: 12345 }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('sample_rate') });
    await expect(tts.generate(request({ output_format: 'pcm_12345' }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('output_format') });
  });

  it('streams raw PCM without a header, at the codec rate and at others', async () => {
    const collect = async (extra: Record<string, unknown>) => {
      const parts: Buffer[] = [];
      for await (const chunk of tts.stream(request(extra))) parts.push(chunk);
      return Buffer.concat(parts);
    };
    const whole = await tts.generate(request({ output_format: 'pcm' }));
    const streamed = await collect({ output_format: 'pcm' });
    expect(streamed.length).toBe(whole.audio.length);
    expect(streamed.subarray(0, 4).toString('ascii')).not.toBe('RIFF');
    // Resampled piece by piece with the whole file's filter: the same length, nearly the same samples.
    for (const extra of [{ sample_rate: 16000 }, { sample_rate: 8000, speed: 2 }, { sample_rate: 48000 }]) {
      const file = await tts.generate(request({ output_format: 'pcm', ...extra }));
      const stream = await collect({ output_format: 'pcm', ...extra });
      expect(stream.length, JSON.stringify(extra)).toBe(file.audio.length);
      if (extra.speed === undefined) expect(maxDifference(stream, file.audio), JSON.stringify(extra)).toBeLessThanOrEqual(4); // the 24 kHz stream is already 1 LSB off
    }
    // A WAV stream's header names the rate it was resampled to.
    const wav = await collect({ output_format: 'wav', sample_rate: 22050 });
    expect(wav.readUInt32LE(24)).toBe(22050);
    expect(() => tts.stream(request({ output_format: 'codes' }))).toThrow(/every audio format/);
  });

  it('streams every format as one file that independent readers take, in pieces of the configured length', async () => {
    const cases = [
      { output_format: 'mp3' },
      { output_format: 'mp3', sample_rate: 44100, speed: 1.5 },
      { output_format: 'opus' },
      { output_format: 'opus', sample_rate: 48000 },
      { output_format: 'flac', sample_rate: 16000 },
      { output_format: 'wav', speed: 0.75 },
      { output_format: 'ulaw' },
      { output_format: 'alaw', sample_rate: 16000 },
    ];
    for (const extra of cases) {
      const label = JSON.stringify(extra);
      const file = await tts.generate(request(extra));
      const chunks: Buffer[] = [];
      for await (const chunk of tts.stream(request(extra))) chunks.push(chunk);
      expect(chunks.length, label).toBeGreaterThan(1); // several pieces, not one body at the end
      const bytes = Buffer.concat(chunks);
      const name = join(work, `stream-${chunks.length}-${extra.output_format}-${extra.sample_rate ?? 'd'}.${extra.output_format === 'opus' ? 'opus' : extra.output_format === 'mp3' || extra.output_format === 'flac' ? extra.output_format : 'wav'}`);
      writeFileSync(name, bytes);
      const read = await loadNative().readAudio(bytes);
      expect(read.sampleRate, label).toBe(file.sampleRate);
      // The same audio as the whole file; MP3 adds its encoder delay and a first (silent) frame.
      const slack = extra.output_format === 'mp3' ? 3 * 1152 : 2;
      const seconds = read.samples.length / read.sampleRate;
      expect(seconds, label).toBeGreaterThanOrEqual(file.durationSeconds - 2 / read.sampleRate);
      expect(seconds, label).toBeLessThanOrEqual(file.durationSeconds + slack / read.sampleRate);
      if (extra.output_format === 'opus') {
        expect(execFileSync('opusinfo', [name], { encoding: 'utf8' }), label).not.toMatch(/WARNING|ERROR/);
      } else {
        // sox decodes to the end of the bytes (a streamed header leaves the length unknown).
        const stat = spawnSync('sox', [name, '-n', 'stat'], { encoding: 'utf8' });
        expect(stat.status, `${label}: ${stat.stderr}`).toBe(0);
        const length = Number(/Length \(seconds\):\s*([\d.]+)/.exec(stat.stderr)?.[1]);
        expect(Math.abs(length - seconds), label).toBeLessThan(0.08);
      }
    }
  });
});

describe('timestamps', () => {
  it("gives every chunk its place in the output, at the output's speed, in files and streams", async () => {
    // Three chunks (word chunking), so the places are not all zero.
    const long = { transcript: 'One two three four. Five six seven eight. Nine ten eleven twelve.', chunk_method: 'word', chunk_max_word_num: 4, seed: 7, max_new_tokens: 40 };
    const normal = await tts.generate({ ...long, output_format: 'wav' });
    const fast = await tts.generate({ ...long, output_format: 'wav', speed: 2 });
    expect(normal.chunks.length).toBe(3);
    let frame = 0;
    for (const [i, chunk] of normal.chunks.entries()) {
      expect([chunk.startSeconds, chunk.endSeconds]).toEqual([frame / 25, (frame + chunk.frames) / 25]);
      expect([fast.chunks[i]!.startSeconds, fast.chunks[i]!.endSeconds]).toEqual([chunk.startSeconds / 2, chunk.endSeconds / 2]);
      frame += chunk.frames;
    }
    // The last chunk ends where the audio does (the stretcher rounds to a sample).
    expect(normal.chunks.at(-1)!.endSeconds).toBeCloseTo(normal.durationSeconds, 6);
    expect(Math.abs(fast.chunks.at(-1)!.endSeconds - fast.durationSeconds)).toBeLessThan(1 / 24000);
    // A stream reports the same places when it is done.
    let done: { chunks: { startSeconds: number; endSeconds: number }[] } | undefined;
    for await (const _ of tts.stream({ ...long, output_format: 'pcm', speed: 2 }, { onDone: (summary) => (done = summary) })) void _;
    expect(done!.chunks.map((c) => [c.startSeconds, c.endSeconds])).toEqual(fast.chunks.map((c) => [c.startSeconds, c.endSeconds]));
  });
});

/** The largest difference between two s16le buffers, in LSB. */
function maxDifference(a: Buffer, b: Buffer): number {
  let worst = 0;
  for (let i = 0; i + 1 < Math.min(a.length, b.length); i += 2) worst = Math.max(worst, Math.abs(a.readInt16LE(i) - b.readInt16LE(i)));
  return worst;
}
