// The audio functions through the addon: bad input is E_INPUT and the next call works.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeReferenceAudio } from '../../lib/audio/codec.js';
import { loadNative, type NativeEngine } from '../../lib/native/loader.js';
import { newEngine } from '../support/engine.js';
import { goldensDir } from '../support/goldens.js';

const native = loadNative();

describe('audio through the addon', () => {
  let wav: Buffer;
  let engine: NativeEngine;
  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'higgs-audio-')), 'stereo.wav');
    execFileSync('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', file, 'synth', '0.5', 'sine', '440']);
    wav = readFileSync(file);
    engine = newEngine();
    await engine.loadCodec(join(goldensDir, 'codec'));
  });
  afterAll(() => engine.dispose());

  it('reads a stereo 44.1 kHz WAV as mono at its own rate', async () => {
    const audio = await native.readAudio(wav);
    expect(audio).toMatchObject({ sampleRate: 44100, channels: 2, format: 'wav' });
    expect(audio.samples.length).toBe(22050);
  });

  it('rejects corrupt, empty, truncated and oversized input with E_INPUT, then reads again', async () => {
    const bad: Array<[Uint8Array, object?]> = [
      [Buffer.from('definitely not audio')],
      [new Uint8Array(0)],
      [wav.subarray(0, 30)],
      [wav, { maxBytes: 1000 }],
      [wav, { maxSeconds: 0.1 }],
    ];
    for (const [bytes, limits] of bad) {
      await expect(native.readAudio(bytes, limits as never)).rejects.toMatchObject({ code: 'E_INPUT' });
    }
    expect((await native.readAudio(wav)).samples.length).toBe(22050);
  });

  it('rejects unknown output formats and bad sample rates with E_INPUT', () => {
    expect(() => native.writeAudio(new Float32Array(10), 24000, 'aac' as never)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(() => native.writeAudio(new Float32Array(10), 0, 'wav')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });

  it('encodes reference audio of any rate to codes, and refuses corrupt audio', async () => {
    const codes = await encodeReferenceAudio(engine, wav);
    expect(codes.length).toBe(8);
    expect(codes[0]!.length).toBe(Math.floor((12000 + 841) / 960)); // 0.5 s resampled to 24 kHz
    await expect(encodeReferenceAudio(engine, Buffer.from('RIFF....WAVEfmt '))).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
