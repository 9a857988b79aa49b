// Voice library: safe name resolution, presets, profile.yaml, inline base64 and the code cache.
//
// The encoder here is a deterministic STAND-IN built from the audio bytes, used until the native
// codec encoder lands; the real encoder gets its own test (with a real codec checkpoint) then.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HiggsError } from '../../lib/common/errors.js';
import { VoiceLibrary, cacheFileName, parseVoiceSpec, type VoiceLibraryOptions } from '../../lib/voices/library.js';

/** A real 16-bit PCM mono WAV: `seconds` of a sine at `hz`. */
function pcm16Wav(seconds: number, hz: number, sampleRate = 24000): Buffer {
  const frames = Math.round(seconds * sampleRate);
  const data = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) data.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / sampleRate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Stand-in encoder: codes [8][T] derived from the bytes (T = one frame per 960 bytes, at least 1). */
function fakeCodes(audio: Buffer): number[][] {
  const frames = Math.max(1, Math.floor(audio.length / 960));
  return Array.from({ length: 8 }, (_, k) =>
    Array.from({ length: frames }, (_, t) => ((audio[(t * 8 + k) % audio.length] ?? 0) * 4 + k) % 1024),
  );
}

interface CountingEncoder {
  encode: (audio: Buffer) => Promise<number[][]>;
  calls: number;
}

function countingEncoder(delayMs = 0): CountingEncoder {
  const state: CountingEncoder = {
    calls: 0,
    encode: async (audio) => {
      state.calls++;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return fakeCodes(audio);
    },
  };
  return state;
}

const failingEncode = async (): Promise<number[][]> => {
  throw new Error('encode must not be called');
};

async function inputError(promise: Promise<unknown>, message?: RegExp): Promise<HiggsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HiggsError);
  expect((error as HiggsError).code).toBe('E_INPUT');
  if (message) expect((error as HiggsError).message).toMatch(message);
  return error as HiggsError;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let root: string;
let dir: string;
let belindaWav: Buffer;
let enManWav: Buffer;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'higgs-voices-'));
  dir = join(root, 'voice_prompts');
  mkdirSync(dir);
  belindaWav = pcm16Wav(0.25, 220);
  enManWav = pcm16Wav(0.3, 110, 16000);
  writeFileSync(join(dir, 'belinda.wav'), belindaWav);
  writeFileSync(join(dir, 'belinda.txt'), '\uFEFF  Twas the night before my birthday.\n');
  writeFileSync(join(dir, 'en_man.wav'), enManWav);
  writeFileSync(join(dir, 'en_man.txt'), 'Hello there.');
  writeFileSync(join(dir, 'orphan.wav'), pcm16Wav(0.1, 440)); // no transcript: not a voice
  writeFileSync(join(dir, 'notes.txt'), 'no audio: not a voice');
  // Outside the voice directory: what traversal and symlink attempts would reach.
  writeFileSync(join(root, 'secret.wav'), pcm16Wav(0.1, 330));
  writeFileSync(join(root, 'secret.txt'), 'secret transcript');
  writeFileSync(join(root, 'x.wav'), pcm16Wav(0.1, 330));
  writeFileSync(join(root, 'x.txt'), 'outside');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function library(encode: VoiceLibraryOptions['encode'], extra: Partial<VoiceLibraryOptions> = {}): VoiceLibrary {
  return new VoiceLibrary({ dir, encode, codecId: 'codec-A', ...extra });
}

describe('parseVoiceSpec', () => {
  it('tells presets from profiles', () => {
    expect(parseVoiceSpec('belinda')).toEqual({ kind: 'preset', name: 'belinda' });
    expect(parseVoiceSpec(' profile:male_en ')).toEqual({ kind: 'profile', name: 'male_en' });
  });

  it('rejects names that are not plain names', () => {
    for (const ref of ['', 'profile:', '../x', 'profile:../x', 'a.b', 'profile:a b', 'x'.repeat(65)]) {
      expect(() => parseVoiceSpec(ref)).toThrowError(HiggsError);
    }
  });
});

describe('name safety', () => {
  const badNames = [
    '../x', '/etc/passwd', 'a/b', '..', '.', 'a.b', 'belinda.wav', '.cache', 'a\\b', 'a b', 'é', '', 'x'.repeat(65), 'x\n',
    'belinda\u0000', 'bel\u0000inda', // NUL bytes
    'bel\u0456nda', '\uFF42elinda', 'belind\u0430', // look-alikes: Cyrillic i, full-width b, Cyrillic a
    '\u2024\u2024/x', 'belinda\u200B', // one-dot leaders, zero-width space
  ];

  it('rejects traversal, absolute paths, dots and over-long names with E_INPUT', async () => {
    const encoder = countingEncoder();
    const voices = library(encoder.encode);
    for (const name of badNames) {
      const error = await inputError(voices.resolve(name), /invalid voice name/);
      expect(error.message).not.toContain(root);
      await inputError(voices.profile(name), /invalid voice profile name/);
    }
    expect(encoder.calls).toBe(0);
  });

  it('accepts a 64-character name (then it is simply unknown)', async () => {
    await inputError(library(failingEncode).resolve('x'.repeat(64)), /unknown voice/);
  });

  it('rejects a symlink inside the directory that points outside, without naming paths', async () => {
    symlinkSync(join(root, 'secret.wav'), join(dir, 'evil.wav'));
    writeFileSync(join(dir, 'evil.txt'), 'looks harmless');
    symlinkSync(join(root, 'secret.txt'), join(dir, 'sneaky.txt'));
    writeFileSync(join(dir, 'sneaky.wav'), pcm16Wav(0.1, 500));
    symlinkSync(root, join(dir, 'up')); // a directory link does not help either: names cannot hold '/'
    const voices = library(failingEncode);
    for (const name of ['evil', 'sneaky']) {
      const error = await inputError(voices.resolve(name), /points outside the voice directory/);
      expect(error.message).not.toContain(root);
      expect(error.message).not.toContain('secret');
    }
    await inputError(voices.resolve('up/secret'), /invalid voice name/);
    expect(await voices.list()).toEqual(['belinda', 'en_man']);
  });

  it('follows a symlink that stays inside the directory', async () => {
    symlinkSync(join(dir, 'belinda.wav'), join(dir, 'alias.wav'));
    symlinkSync('belinda.txt', join(dir, 'alias.txt'));
    const encoder = countingEncoder();
    const voices = library(encoder.encode);
    expect(await voices.list()).toEqual(['alias', 'belinda', 'en_man']);
    const alias = await voices.resolve('alias');
    expect(alias.codes).toEqual((await voices.resolve('belinda')).codes);
    expect(encoder.calls).toBe(1); // same bytes, same cache entry
  });

  it('treats profile.yaml that points outside as an input error', async () => {
    writeFileSync(join(root, 'outside.yaml'), 'profiles:\n  male_en: Male.\n');
    symlinkSync(join(root, 'outside.yaml'), join(dir, 'profile.yaml'));
    const error = await inputError(library(failingEncode).profile('male_en'), /profile\.yaml points outside/);
    expect(error.message).not.toContain(root);
  });
});

describe('presets', () => {
  it('lists names that have both files', async () => {
    writeFileSync(join(dir, 'profile.yaml'), 'profiles: {}\n');
    writeFileSync(join(dir, 'bad.name.wav'), belindaWav);
    writeFileSync(join(dir, 'bad.name.txt'), 'dots are not allowed');
    expect(await library(failingEncode).list()).toEqual(['belinda', 'en_man']);
  });

  it('has no voices when the directory does not exist', async () => {
    const voices = new VoiceLibrary({ dir: join(root, 'missing'), encode: failingEncode, codecId: 'codec-A' });
    expect(await voices.list()).toEqual([]);
    await inputError(voices.resolve('belinda'), /unknown voice "belinda"/);
    await inputError(voices.profile('male_en'), /unknown voice profile "male_en"/);
  });

  it('resolves a transcript (UTF-8, BOM dropped, trimmed) and the codes of the WAV', async () => {
    const encoder = countingEncoder();
    const voice = await library(encoder.encode).resolve('belinda');
    expect(voice).toEqual({ name: 'belinda', transcript: 'Twas the night before my birthday.', codes: fakeCodes(belindaWav) });
    expect(voice.codes).toHaveLength(8);
  });

  it('gives unknown names, missing transcripts and missing audio E_INPUT', async () => {
    const voices = library(failingEncode);
    await inputError(voices.resolve('nobody'), /unknown voice "nobody"/);
    await inputError(voices.resolve('orphan'), /unknown voice "orphan"/);
    await inputError(voices.resolve('notes'), /unknown voice "notes"/);
  });

  it('bounds the WAV size before reading it', async () => {
    const encoder = countingEncoder();
    const voices = library(encoder.encode, { maxAudioBytes: belindaWav.length - 1 });
    await inputError(voices.resolve('belinda'), /voice "belinda" audio is larger than the \d+-byte limit/);
    expect(encoder.calls).toBe(0);
  });

  it('rejects empty, over-long and non-UTF-8 transcripts', async () => {
    const voices = library(countingEncoder().encode, { maxTranscriptChars: 20 });
    writeFileSync(join(dir, 'belinda.txt'), '   \n');
    await inputError(voices.resolve('belinda'), /transcript is empty/);
    writeFileSync(join(dir, 'belinda.txt'), 'a'.repeat(21));
    await inputError(voices.resolve('belinda'), /longer than 20 characters/);
    writeFileSync(join(dir, 'belinda.txt'), '四'.repeat(20)); // 20 characters, 60 bytes: fits
    expect((await voices.resolve('belinda')).transcript).toBe('四'.repeat(20));
    writeFileSync(join(dir, 'belinda.txt'), Buffer.from([0x48, 0xff, 0x69]));
    await inputError(voices.resolve('belinda'), /not valid UTF-8/);
  });

  it('reference() turns a spec into a prompt voice', async () => {
    writeFileSync(join(dir, 'profile.yaml'), 'profiles:\n  male_en: Male, American accent.\n');
    const voices = library(countingEncoder().encode);
    expect(await voices.reference('en_man')).toEqual({ type: 'clip', codes: fakeCodes(enManWav), transcript: 'Hello there.' });
    expect(await voices.reference('profile:male_en')).toEqual({ type: 'profile', description: 'Male, American accent.' });
  });
});

describe('code cache', () => {
  const cacheDir = (): string => join(dir, '.cache');
  const cacheFile = (audio: Buffer, codecId = 'codec-A'): string => join(cacheDir(), cacheFileName(sha256(audio), codecId));

  it('encodes a voice once per library (memory) and hands out copies', async () => {
    const encoder = countingEncoder();
    const voices = library(encoder.encode);
    const first = await voices.resolve('belinda');
    first.codes[0]![0] = 9999; // a caller scribbling on its copy
    const second = await voices.resolve('belinda');
    await voices.resolve('belinda');
    expect(encoder.calls).toBe(1);
    expect(second.codes).toEqual(fakeCodes(belindaWav));
  });

  it('writes DIR/.cache/<sha256(audio)>-<sha256(codecId)[:16]>.json atomically', async () => {
    await library(countingEncoder().encode).resolve('belinda');
    const name = cacheFileName(sha256(belindaWav), 'codec-A');
    expect(name).toMatch(/^[0-9a-f]{64}-[0-9a-f]{16}\.json$/);
    expect(readdirSync(cacheDir())).toEqual([name]); // no temp files left behind
    const record = JSON.parse(readFileSync(cacheFile(belindaWav), 'utf8'));
    expect(record).toMatchObject({ format: 'higgs-audio-voice-codes', version: 1, codecId: 'codec-A', audioSha256: sha256(belindaWav) });
    expect(record.codes).toEqual(fakeCodes(belindaWav));
  });

  it('re-encodes when the audio of a voice changes (the key is the audio hash)', async () => {
    const encoder = countingEncoder();
    const voices = library(encoder.encode);
    await voices.resolve('belinda');
    const replaced = pcm16Wav(0.25, 330);
    writeFileSync(join(dir, 'belinda.wav'), replaced);
    const after = await voices.resolve('belinda');
    expect(encoder.calls).toBe(2);
    expect(after.codes).toEqual(fakeCodes(replaced));
    expect((await library(failingEncode).resolve('belinda')).codes).toEqual(fakeCodes(replaced));
  });

  it('reuses the disk cache from a new library instance', async () => {
    await library(countingEncoder().encode).resolve('belinda');
    const voice = await library(failingEncode).resolve('belinda');
    expect(voice.codes).toEqual(fakeCodes(belindaWav));
  });

  it('honours a custom cacheDir', async () => {
    const elsewhere = join(root, 'codes-cache');
    await library(countingEncoder().encode, { cacheDir: elsewhere }).resolve('en_man');
    expect(readdirSync(elsewhere)).toEqual([cacheFileName(sha256(enManWav), 'codec-A')]);
    expect((await library(failingEncode, { cacheDir: elsewhere }).resolve('en_man')).codes).toEqual(fakeCodes(enManWav));
  });

  it('re-encodes for a different codecId and keeps both entries', async () => {
    await library(countingEncoder().encode).resolve('belinda');
    const encoder = countingEncoder();
    await library(encoder.encode, { codecId: 'codec-B' }).resolve('belinda');
    expect(encoder.calls).toBe(1);
    expect(readdirSync(cacheDir()).sort()).toEqual([cacheFileName(sha256(belindaWav), 'codec-A'), cacheFileName(sha256(belindaWav), 'codec-B')].sort());
  });

  it('ignores and rewrites corrupt or foreign cache files', async () => {
    await library(countingEncoder().encode).resolve('belinda');
    const file = cacheFile(belindaWav);
    const valid = JSON.parse(readFileSync(file, 'utf8'));
    const outOfRange = structuredClone(valid);
    outOfRange.codes[3][0] = 1024;
    const ragged = structuredClone(valid);
    ragged.codes[7].pop();
    const sevenBooks = structuredClone(valid);
    sevenBooks.codes.pop();
    const fractional = structuredClone(valid);
    fractional.codes[0][0] = 1.5;
    const corruptions = [
      'not json {',
      '',
      'null',
      JSON.stringify({ ...valid, codecId: 'codec-B' }),
      JSON.stringify({ ...valid, audioSha256: '0'.repeat(64) }),
      JSON.stringify({ ...valid, version: 2 }),
      JSON.stringify(outOfRange),
      JSON.stringify(ragged),
      JSON.stringify(sevenBooks),
      JSON.stringify(fractional),
      JSON.stringify({ ...valid, codes: [[], [], [], [], [], [], [], []] }),
    ];
    for (const corrupt of corruptions) {
      writeFileSync(file, corrupt);
      const encoder = countingEncoder();
      const problems: unknown[] = [];
      const voice = await library(encoder.encode, { onCacheError: (e) => problems.push(e) }).resolve('belinda');
      expect(encoder.calls).toBe(1);
      expect(problems).toHaveLength(1);
      expect(voice.codes).toEqual(fakeCodes(belindaWav));
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(valid);
    }
  });

  it('shares one encode between concurrent resolves of the same voice', async () => {
    const encoder = countingEncoder(30);
    const voices = library(encoder.encode);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => voices.resolve('belinda')));
    expect(encoder.calls).toBe(1);
    for (const r of results) expect(r.codes).toEqual(fakeCodes(belindaWav));
    expect(readdirSync(cacheDir())).toHaveLength(1);
  });

  it('does not cache a failed encode', async () => {
    let calls = 0;
    const flaky = async (audio: Buffer): Promise<number[][]> => {
      calls++;
      if (calls === 1) throw new Error('transient codec failure');
      return fakeCodes(audio);
    };
    const voices = library(flaky);
    await expect(voices.resolve('belinda')).rejects.toThrow('transient codec failure');
    expect((await voices.resolve('belinda')).codes).toEqual(fakeCodes(belindaWav));
    expect(calls).toBe(2);
  });

  it('rejects encoder output of the wrong shape as E_INTERNAL and caches nothing', async () => {
    const voices = library(async () => [[1, 2, 3]]);
    const error = await voices.resolve('belinda').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HiggsError);
    expect((error as HiggsError).code).toBe('E_INTERNAL');
    expect(readdirSync(dir)).not.toContain('.cache');
  });

  it('keeps the disk cache within maxCacheBytes, deleting the least recently used clips first', async () => {
    const clips = Array.from({ length: 4 }, (_, i) => pcm16Wav(0.5, 200 + 50 * i));
    const encoder = countingEncoder();
    const one = async (audio: Buffer, lib: VoiceLibrary) => lib.inline({ base64: audio.toString('base64') });
    // Learn one record's size, then allow three.
    await one(clips[0]!, library(encoder.encode));
    const recordBytes = statSync(cacheFile(clips[0]!)).size;
    const voices = library(encoder.encode, { maxCacheBytes: 3 * recordBytes + 10, maxMemoryEntries: 1 });
    const tick = () => new Promise((resolve) => setTimeout(resolve, 20)); // distinct file times
    for (const clip of clips.slice(1, 3)) {
      await tick();
      await one(clip, voices);
    }
    await tick();
    // Read back from disk by another library: the oldest file becomes the most recently used.
    await one(clips[0]!, library(encoder.encode, { maxCacheBytes: 3 * recordBytes + 10 }));
    await tick();
    await one(clips[3]!, voices); // a fourth clip: one must go, and it is clip 1, not clip 0
    const kept = readdirSync(cacheDir()).sort();
    expect(kept).toEqual([clips[0]!, clips[2]!, clips[3]!].map((c) => cacheFileName(sha256(c), 'codec-A')).sort());
    expect(encoder.calls).toBe(4);
    expect(readdirSync(cacheDir()).reduce((n, f) => n + statSync(join(cacheDir(), f)).size, 0)).toBeLessThanOrEqual(3 * recordBytes + 10);
  });

  it('still works when the cache directory cannot be written', async () => {
    const blocker = join(root, 'a-file');
    writeFileSync(blocker, 'not a directory');
    const problems: unknown[] = [];
    const encoder = countingEncoder();
    const voices = library(encoder.encode, { cacheDir: join(blocker, 'cache'), onCacheError: (e) => problems.push(e) });
    expect((await voices.resolve('belinda')).codes).toEqual(fakeCodes(belindaWav));
    await voices.resolve('belinda');
    expect(encoder.calls).toBe(1); // memory still serves it
    expect(problems.length).toBeGreaterThan(0);
  });
});

describe('profile.yaml', () => {
  const writeProfiles = (text: string): void => writeFileSync(join(dir, 'profile.yaml'), text);

  it('looks up descriptions by name', async () => {
    writeProfiles(
      [
        'profiles:',
        '  male_en: Male, American accent, modern speaking rate, moderate-pitch, friendly tone, and very clear audio.',
        '  female_en_story: >',
        '    She speaks with a calm, gentle, and informative tone',
        '    at a measured pace.',
        '  "quoted-name": "  Padded.  "',
        '',
      ].join('\n'),
    );
    const voices = library(failingEncode);
    expect(await voices.profile('male_en')).toBe('Male, American accent, modern speaking rate, moderate-pitch, friendly tone, and very clear audio.');
    expect(await voices.profile('female_en_story')).toBe('She speaks with a calm, gentle, and informative tone at a measured pace.');
    expect(await voices.profile('quoted-name')).toBe('Padded.');
    expect(await voices.profiles()).toEqual(['female_en_story', 'male_en', 'quoted-name']);
    await inputError(voices.profile('nobody'), /unknown voice profile "nobody"/);
    await inputError(voices.profile('__proto__'), /unknown voice profile/);
  });

  it('has no profiles without profile.yaml, or with an empty one', async () => {
    const voices = library(failingEncode);
    expect(await voices.profiles()).toEqual([]);
    await inputError(voices.profile('male_en'), /unknown voice profile/);
    writeProfiles('');
    expect(await voices.profiles()).toEqual([]);
  });

  it('reports an invalid profile.yaml clearly', async () => {
    const voices = library(failingEncode);
    const cases: Array<[string, RegExp]> = [
      ['profiles:\n  male_en: [unclosed\n', /invalid profile\.yaml: not valid YAML/],
      ['profiles:\n  a: one\n  a: two\n', /invalid profile\.yaml: not valid YAML/],
      ['- just\n- a list\n', /top level must be a mapping/],
      ['profiles:\n  - male_en\n', /"profiles" must map profile names/],
      ['profiles:\n  male_en:\n    nested: map\n', /profile "male_en" must be a text description/],
      ['profiles:\n  male_en: 42\n', /profile "male_en" must be a text description/],
      ['profiles:\n  "bad name": text\n', /profile name "bad name"/],
      ['profiles:\n  male_en: ""\n', /profile "male_en" description is empty/],
      [`profiles:\n  male_en: ${'a'.repeat(2001)}\n`, /longer than 2000 characters/],
    ];
    for (const [text, message] of cases) {
      writeProfiles(text);
      const error = await inputError(voices.profile('male_en'), message);
      expect(error.message).not.toContain(root);
    }
  });
});

describe('inline voices', () => {
  it('decodes strict base64 and shares the cache with presets', async () => {
    const encoder = countingEncoder();
    const voices = library(encoder.encode);
    await voices.resolve('belinda');
    const voice = await voices.inline({ base64: belindaWav.toString('base64'), transcript: '  Twas the night.  ' });
    expect(voice).toEqual({ transcript: 'Twas the night.', codes: fakeCodes(belindaWav) });
    expect(encoder.calls).toBe(1); // same bytes as the preset
    const other = pcm16Wav(0.05, 1000);
    expect((await voices.inline({ base64: other.toString('base64') })).codes).toEqual(fakeCodes(other));
    expect((await voices.inline({ base64: other.toString('base64'), transcript: '  ' })).transcript).toBeUndefined();
    expect(encoder.calls).toBe(2);
  });

  it('rejects invalid characters, bad padding and empty input without encoding', async () => {
    const encoder = countingEncoder();
    const voices = library(encoder.encode);
    const good = pcm16Wav(0.01, 440).toString('base64');
    const bad: Array<[string, RegExp]> = [
      ['', /must not be empty/],
      [`${good.slice(0, 8)}@${good.slice(9)}`, /invalid character at offset 8/],
      [`${good.slice(0, 8)} ${good.slice(9)}`, /invalid character at offset 8/],
      [`${good.slice(0, 8)}-${good.slice(9)}`, /invalid character/], // base64url is not accepted
      [`data:audio/wav;base64,${good}`, /without a data: URL prefix/],
      ['QUJD\nREVG', /not a multiple of 4|invalid character/],
      ['QUJDRA', /not a multiple of 4/], // padding required
      ['QU=D', /final padding/],
      ['QUJ=', /non-canonical/], // 'J' leaves a non-zero bit behind the padding
    ];
    for (const [base64, message] of bad) await inputError(voices.inline({ base64 }), message);
    await inputError(voices.inline({ base64: 42 as unknown as string }), /must be a base64 string/);
    expect(encoder.calls).toBe(0);
  });

  it('bounds the decoded size before decoding', async () => {
    const encoder = countingEncoder();
    const audio = pcm16Wav(0.01, 440);
    const voices = library(encoder.encode, { maxInlineBytes: audio.length - 1 });
    await inputError(voices.inline({ base64: audio.toString('base64') }), /decodes to \d+ bytes, more than the \d+-byte limit/);
    expect(encoder.calls).toBe(0);
    const fits = library(encoder.encode, { maxInlineBytes: audio.length });
    expect((await fits.inline({ base64: audio.toString('base64') })).codes).toEqual(fakeCodes(audio));
  });

  it('bounds the transcript', async () => {
    const voices = library(countingEncoder().encode, { maxTranscriptChars: 10 });
    await inputError(voices.inline({ base64: belindaWav.toString('base64'), transcript: 'x'.repeat(11) }), /longer than 10 characters/);
  });
});
