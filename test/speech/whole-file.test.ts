// Text -> codes -> waveform -> file through the library with the tiny model and the tiny codec
// (the transformers goldens' codec), checked independently with soxi; voices encoded by the real
// codec; the demo end to end.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCodes, encodeReferenceAudio } from '../../lib/audio/codec.js';
import { codecFingerprint } from '../../lib/audio/codec-id.js';
import { loadNative, type AudioFormat, type NativeEngine } from '../../lib/native/loader.js';
import { synthesizeSpeech } from '../../lib/speech/whole-file.js';
import { loadTokenizer, type HiggsTokenizer } from '../../lib/text/tokenizer.js';
import { VoiceLibrary } from '../../lib/voices/library.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { newEngine } from '../support/engine.js';
import { goldensDir } from '../support/goldens.js';

const codecDir = join(goldensDir, 'codec');

function soxi(file: string): { rate: number; channels: number; seconds: number } {
  const field = (flag: string) => Number(execFileSync('soxi', [flag, file], { encoding: 'utf8' }).trim());
  return { rate: field('-r'), channels: field('-c'), seconds: field('-D') };
}

function opusinfo(file: string): { rate: number; channels: number; seconds: number } {
  const text = execFileSync('opusinfo', [file], { encoding: 'utf8' });
  const length = /Playback length: (\d+)m:([\d.]+)s/.exec(text)!;
  return {
    rate: Number(/Original sample rate: (\d+) Hz/.exec(text)![1]),
    channels: Number(/Channels: (\d+)/.exec(text)![1]),
    seconds: Number(length[1]) * 60 + Number(length[2]),
  };
}

/** A 24 kHz mono 16-bit WAV of a gliding tone, made by sox (an independent writer). */
function soxTone(file: string, seconds: number, rate = 24000): void {
  execFileSync('sox', ['-n', '-r', String(rate), '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', '200-800', 'vol', '0.5']);
}

describe('speech end to end', () => {
  let engine: NativeEngine;
  let tokenizer: HiggsTokenizer;
  const scratch = mkdtempSync(join(tmpdir(), 'higgs-speech-'));
  beforeAll(async () => {
    engine = newEngine({ maxContext: 2048 });
    await engine.load(tinyHfDir);
    await engine.loadCodec(codecDir);
    tokenizer = loadTokenizer(tinyHfDir);
  });
  afterAll(() => engine.dispose());

  it('decodes exactly T * 960 samples for T in {1, 7, 25, 250}', async () => {
    for (const T of [1, 7, 25, 250]) {
      const codes = Array.from({ length: 8 }, (_, q) => Array.from({ length: T }, (_, t) => (q * 131 + t * 17) % 1024));
      expect((await decodeCodes(engine, codes)).length).toBe(T * 960);
    }
  });

  it('writes a WAV whose rate, channels and duration soxi confirms', async () => {
    const result = await synthesizeSpeech(engine, tokenizer, { transcript: 'The sun rises in the east.', seed: 3, maxNewTokens: 60 });
    expect(result.frames).toBeGreaterThan(0);
    const file = join(scratch, 'speech.wav');
    writeFileSync(file, result.audio);
    const info = soxi(file);
    expect(info).toEqual({ rate: 24000, channels: 1, seconds: (result.frames * 960) / 24000 });
    expect(result.durationSeconds).toBe(result.frames / 25);
    const decoded = await loadNative().readAudio(readFileSync(file));
    expect(decoded.samples.length).toBe(result.frames * 960);
  });

  it.each(['flac', 'vorbis', 'mp3', 'opus'] as AudioFormat[])('encodes %s that reads back', async (format) => {
    if (!loadNative().audioFormats().write.includes(format)) return; // reported by audioFormats(); libsndfile dependent
    const result = await synthesizeSpeech(engine, tokenizer, { transcript: 'Hello there.', seed: 4, maxNewTokens: 40, outputFormat: format });
    const decoded = await loadNative().readAudio(result.audio);
    expect(decoded.channels).toBe(1);
    expect(Math.abs(decoded.durationSeconds - result.durationSeconds)).toBeLessThan(0.08);
    const file = join(scratch, `speech.${format === 'vorbis' ? 'ogg' : format === 'opus' ? 'opus.ogg' : format}`);
    writeFileSync(file, result.audio);
    // Independent readers: soxi (mp3 through libsox-fmt-mp3), and opusinfo for Opus, which sox
    // cannot read. MP3 durations include the encoder's priming/padding (about 1536 samples).
    const info = format === 'opus' ? opusinfo(file) : soxi(file);
    expect(info.rate).toBe(24000);
    expect(info.channels).toBe(1);
    expect(Math.abs(info.seconds - result.durationSeconds)).toBeLessThan(format === 'mp3' ? 0.1 : 0.02);
  });

  it('clones a preset voice encoded by the real codec, cached by audio and codec hash', async () => {
    const voices = join(scratch, 'voices');
    execFileSync('mkdir', ['-p', voices]);
    soxTone(join(voices, 'tone.wav'), 2); // 48000 samples at 24 kHz: 50 frames
    soxTone(join(voices, 'tone44.wav'), 1.2, 44100); // resampled to 24 kHz first
    writeFileSync(join(voices, 'tone.txt'), 'A rising tone.');
    writeFileSync(join(voices, 'tone44.txt'), 'Another tone.');
    let encodes = 0;
    const library = new VoiceLibrary({
      dir: voices,
      codecId: await codecFingerprint(codecDir),
      encode: async (bytes) => ((encodes += 1), encodeReferenceAudio(engine, bytes)),
    });
    const voice = await library.resolve('tone');
    expect(voice.codes.length).toBe(8);
    expect(voice.codes[0]!.length).toBe(50);
    expect(voice.codes.flat().every((c) => c >= 0 && c <= 1023)).toBe(true);
    expect((await library.resolve('tone44')).codes[0]!.length).toBe(Math.floor((28800 + 841) / 960));
    await library.resolve('tone');
    expect(encodes).toBe(2);

    const smart = await synthesizeSpeech(engine, tokenizer, { transcript: 'Go.', seed: 5, maxNewTokens: 30 });
    const cloned = await synthesizeSpeech(engine, tokenizer, {
      transcript: 'Go.',
      seed: 5,
      maxNewTokens: 30,
      voices: [{ type: 'clip', codes: voice.codes, transcript: voice.transcript }],
    });
    // The reference turn adds its text and 50 + 9 delayed frames to the prompt.
    expect(cloned.chunks[0]!.promptPositions).toBeGreaterThan(smart.chunks[0]!.promptPositions + 59);
    expect(cloned.frames).toBeGreaterThan(0);
  });

  it('npm run demo writes an audio file and says where', () => {
    const out = mkdtempSync(join(tmpdir(), 'higgs-demo-'));
    const run = spawnSync('node', [join(repoRoot, 'dist', 'lib', 'cli', 'demo.js')], {
      env: { ...process.env, HIGGS_DEMO_OUT: out, HIGGS_MODEL_DIR: tinyHfDir, HIGGS_CODEC_DIR: codecDir },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const file = join(out, 'demo.wav');
    expect(run.stdout).toContain(`Wrote ${file}`);
    const info = soxi(file);
    expect(info.rate).toBe(24000);
    expect(info.seconds).toBeGreaterThan(0);
  });
});
