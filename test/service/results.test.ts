// Results as values (issue 18): codes out and back in (decode-only, codes voices), save_voice,
// result hashes (same request and seed: same hash and bytes; another seed: another hash), the
// bounded result cache behind HiggsAudio, and speed through a request (whole files and streams).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createLogger } from '../../lib/common/log.js';
import { codesToWire, wireToCodes, type CodesWire } from '../../lib/audio/codes-wire.js';
import { VoiceLibrary } from '../../lib/voices/library.js';
import { ResultCache } from '../../lib/service/result-cache.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

const work = mkdtempSync(join(tmpdir(), 'higgs-results-'));
const voicesDir = join(work, 'voices');
const cacheDir = join(work, 'results');
const request = (extra: Record<string, unknown> = {}) => ({ transcript: 'The sun rises in the east.', seed: 7, max_new_tokens: 60, ...extra });
const silent = createLogger({ level: 'silent' });
const baseConfig = () => ({ ...loadConfig({ HIGGS_DEVICE: 'cpu' }), modelDir: tinyHfDir, codecDir: join(goldensDir, 'codec'), maxContext: 2048 });

let tts: HiggsAudio;
let cached: HiggsAudio;

beforeAll(async () => {
  execFileSync('mkdir', ['-p', voicesDir]);
  execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', join(voicesDir, 'tone.wav'), 'synth', '1', 'sine', '300']);
  writeFileSync(join(voicesDir, 'tone.txt'), 'A tone.');
  tts = new HiggsAudio({ config: { ...baseConfig(), voicesDir }, logger: silent });
  cached = new HiggsAudio({ config: { ...baseConfig(), voicesDir: null, resultCacheDir: cacheDir, resultCacheMb: 1 }, logger: silent });
  await Promise.all([tts.load(), cached.load()]);
});

afterAll(async () => {
  await tts.dispose();
  await cached.dispose();
});

function wavSamples(bytes: Buffer): number {
  const file = join(work, `probe-${Math.random().toString(16).slice(2)}.wav`);
  writeFileSync(file, bytes);
  return Number(execFileSync('soxi', ['-s', file], { encoding: 'utf8' }).trim());
}

describe('codes as an output, a voice and a decode-only request', () => {
  it('returns the codes compactly and decodes them back to the same bytes as the audio request', async () => {
    const wav = await tts.generate(request());
    const out = await tts.generate(request({ output_format: 'codes' }));
    const codes = out.codes!;
    expect(out.format).toBe('codes');
    expect(codes).toMatchObject({ layout: 'int16le', codebooks: 8 });
    expect(codes.codec).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(out.audio.toString())).toEqual(codes);
    // Two bytes per code: 8 codebooks x frames x 2, base64 on top.
    expect(Buffer.from(codes.base64, 'base64').length).toBe(8 * codes.frames * 2);
    expect(out.durationSeconds).toBeCloseTo(wav.durationSeconds, 6);

    const decoded = await tts.decode({ codes });
    expect(decoded.format).toBe('wav');
    expect(decoded.audio.equals(wav.audio)).toBe(true);
    const pcm = await tts.decode({ codes, output_format: 'pcm_16000' });
    expect(pcm).toMatchObject({ format: 'pcm', sampleRate: 16000 });
    expect((await tts.generate(request({ output_format: 'pcm_16000' }))).audio.equals(pcm.audio)).toBe(true);
  });

  it('refuses codes of another codec, damaged codes, and codes as the output of a decode', async () => {
    const { codes } = await tts.generate(request({ output_format: 'codes' }));
    const foreign: CodesWire = { ...codes!, codec: 'f'.repeat(64) };
    await expect(tts.decode({ codes: foreign })).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('another codec') });
    const short = { ...codes!, frames: codes!.frames + 1 };
    await expect(tts.decode({ codes: short })).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('base64') });
    const bad = Buffer.from(codes!.base64, 'base64');
    bad.writeInt16LE(1024, 0);
    await expect(tts.decode({ codes: { ...codes!, base64: bad.toString('base64') } })).rejects.toMatchObject({ message: expect.stringContaining('not in 0..1023') });
    await expect(tts.decode({ codes, output_format: 'codes' })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(tts.generate(request({ output_format: 'codes', speed: 2 }))).rejects.toMatchObject({ message: expect.stringContaining('speed') });
  });

  it('conditions on a codes voice exactly as on the preset whose codes they are', async () => {
    const viaPreset = await tts.generate(request({ ref_audio: 'tone', output_format: 'codes' }));
    // The preset's codes, as the request above encoded them into the voice cache, sent back as a codes voice.
    const presetCodes = await cachedPresetCodes('tone', viaPreset.codes!.codec);
    const viaCodes = await tts.generate(request({ ref_audio: { codes: presetCodes, transcript: 'A tone.' }, output_format: 'codes' }));
    expect(viaCodes.codes!.base64).toBe(viaPreset.codes!.base64);
    const foreign = { ...presetCodes, codec: '0'.repeat(64) };
    await expect(tts.generate(request({ ref_audio: { codes: foreign, transcript: 'A tone.' } }))).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringContaining('ref_audio.codes: the codes were made by another codec'),
    });
  });
});

/** A preset's codes from the voice cache of the voices directory (an encoder that must not run). */
async function cachedPresetCodes(name: string, codecId: string): Promise<CodesWire> {
  const library = new VoiceLibrary({
    dir: voicesDir,
    codecId,
    encode: () => {
      throw new Error('the preset is cached already');
    },
  });
  return codesToWire((await library.resolve(name)).codes, codecId);
}

describe('save_voice', () => {
  it('stores the generated codes and transcript as a preset that resolves to exactly those codes', async () => {
    const out = await tts.generate(request({ output_format: 'codes', save_voice: 'kept' }));
    expect(out.savedVoice).toEqual({ name: 'kept', saved: true });
    expect(await tts.voiceNames()).toContain('kept');
    expect(readFileSync(join(voicesDir, 'kept.txt'), 'utf8')).toBe('The sun rises in the east.');
    const library = new VoiceLibrary({
      dir: voicesDir,
      codecId: out.codes!.codec,
      encode: () => {
        throw new Error('a saved voice is never re-encoded');
      },
    });
    expect((await library.resolve('kept')).codes).toEqual(wireToCodes(out.codes!));
    // The WAV beside the codes is their decoded audio.
    expect(wavSamples(readFileSync(join(voicesDir, 'kept.wav')))).toBe(Math.round(out.durationSeconds * 24000));
    // A whole-file request saves too, and the saved voice speaks.
    const wav = await tts.generate(request({ seed: 8, save_voice: 'kept2' }));
    expect(wav.savedVoice).toEqual({ name: 'kept2', saved: true });
    expect((await tts.generate(request({ ref_audio: 'kept' }))).audio.length).toBeGreaterThan(44);
  });

  it('refuses before the work: a taken name, no voices directory, speakers, a stream, a read-only directory', async () => {
    await expect(tts.generate(request({ save_voice: 'tone' }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('exists already') });
    await expect(cached.generate(request({ save_voice: 'x' }))).rejects.toMatchObject({ message: expect.stringContaining('no voices directory') });
    await expect(tts.generate(request({ save_voice: 'x', speakers: { 0: 'tone' } }))).rejects.toMatchObject({ message: expect.stringContaining('save_voice') });
    expect(() => tts.stream(request({ save_voice: 'x' }))).toThrow(/whole-file/);
    await expect(tts.generate(request({ save_voice: '../x' }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('save_voice') });
    const readOnly = new HiggsAudio({ config: { ...baseConfig(), voicesDir: '/sys/kernel' }, logger: silent });
    try {
      await expect(readOnly.generate(request({ save_voice: 'x' }))).rejects.toMatchObject({ name: 'VoicesReadOnlyError' });
    } finally {
      await readOnly.dispose();
    }
    expect(existsSync(join(voicesDir, 'x.wav'))).toBe(false);
  });
});

describe('result hashes', () => {
  it('gives the same request and seed the same hash and bytes, another seed another hash', async () => {
    const a = await tts.generate(request());
    const b = await tts.generate(request());
    const c = await tts.generate(request({ seed: 8 }));
    expect(a.resultHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.resultHash).toBe(a.resultHash);
    expect(b.audio.equals(a.audio)).toBe(true);
    expect(c.resultHash).not.toBe(a.resultHash);
    // Every field that decides the audio is in it; save_voice is not.
    expect((await tts.resultKey(request({ temperature: 0.5 }))).resultHash).not.toBe(a.resultHash);
    expect((await tts.resultKey(request({ output_format: 'flac' }))).resultHash).not.toBe(a.resultHash);
    expect((await tts.resultKey(request({ save_voice: 'y' }))).resultHash).toBe(a.resultHash);
    expect(await tts.resultKey(request())).toEqual({ seed: 7, resultHash: a.resultHash });
    // A stream's bytes are its own: its hash differs from the file's.
    expect((await tts.resultKey(request(), { stream: true })).resultHash).not.toBe(a.resultHash);
    // Without a seed each request draws one, and says which.
    const drawn = await tts.generate({ transcript: 'The sun rises in the east.', max_new_tokens: 60 });
    expect((await tts.generate(request({ seed: drawn.seed }))).resultHash).toBe(drawn.resultHash);
  });

  it('serves a repeated request from the bounded result cache with the same bytes', async () => {
    const first = await cached.generate(request({ seed: 11 }));
    expect(first.cached).toBe(false);
    const again = await cached.generate(request({ seed: 11 }));
    expect(again).toMatchObject({ cached: true, resultHash: first.resultHash, seed: 11, chunks: first.chunks, truncated: first.truncated });
    expect(again.audio.equals(first.audio)).toBe(true);
    expect(again.timings.generateSeconds).toBe(0);
    const store = new ResultCache({ dir: cacheDir, maxBytes: 1024 * 1024 });
    expect(await store.size()).toBeLessThanOrEqual(1024 * 1024);
    // Decode-only results are cached too.
    const { codes } = await cached.generate(request({ seed: 11, output_format: 'codes' }));
    expect((await cached.decode({ codes })).cached).toBe(false);
    expect((await cached.decode({ codes })).cached).toBe(true);
  });
});

describe('speed through a request', () => {
  it('stretches whole files and streams by the speed, 1 being the same bytes as none', async () => {
    const plain = await tts.generate(request({ max_new_tokens: 120 }));
    expect((await tts.generate(request({ max_new_tokens: 120, speed: 1 }))).audio.equals(plain.audio)).toBe(true);
    const samples = wavSamples(plain.audio);
    for (const speed of [0.5, 2]) {
      const out = await tts.generate(request({ max_new_tokens: 120, speed }));
      expect(Math.abs(wavSamples(out.audio) / (samples / speed) - 1), `speed ${speed}`).toBeLessThan(0.05);
      expect(out.durationSeconds).toBeCloseTo(wavSamples(out.audio) / 24000, 3);
      const parts: Buffer[] = [];
      for await (const part of tts.stream(request({ max_new_tokens: 120, speed, output_format: 'pcm' }))) parts.push(part);
      const streamed = Buffer.concat(parts).length / 2;
      expect(Math.abs(streamed / (samples / speed) - 1), `stream speed ${speed}`).toBeLessThan(0.05);
    }
    await expect(tts.generate(request({ speed: 5 }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('speed') });
  });
});
