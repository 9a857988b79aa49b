// Long-text chunking: prepare_chunk_text semantics (none / speaker / word), the automatic
// chunking that cuts only what would not fit (auto), limits and errors.
import { describe, expect, it } from 'vitest';
import { HiggsError } from '../../lib/common/errors.js';
import { DEFAULT_MAX_WORDS, chunkText, type ChunkOptions } from '../../lib/text/chunking.js';
import { normalizeTranscript } from '../../lib/text/normalize.js';
import { SOUND_EVENT_SECONDS, estimateSpeech, speakingSeconds } from '../../lib/text/speaking-time.js';

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

/** Words of a chunk the way the spec counts them for spaced text. */
const spacedWords = (chunk: string): string[] => chunk.split(/\s+/).filter(Boolean);
/** Word-like segments (Intl.Segmenter, zh) of an unspaced chunk. */
const cjkWords = (chunk: string): string[] =>
  [...segmenter.segment(chunk)].filter((s) => s.isWordLike).map((s) => s.segment);
const withoutWhitespace = (text: string): string => text.replace(/\s+/g, '');
const englishWords = (count: number): string =>
  Array.from({ length: count }, (_, i) => `w${i}`).join(' ');

function expectTextPreserved(chunks: string[], text: string): void {
  expect(withoutWhitespace(chunks.join(''))).toBe(withoutWhitespace(text));
  for (const chunk of chunks) expect(chunk.trim()).not.toBe('');
}

function expectInputError(options: ChunkOptions, message: RegExp): void {
  let caught: unknown;
  try {
    chunkText('some text', options);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(HiggsError);
  expect((caught as HiggsError).code).toBe('E_INPUT');
  expect((caught as HiggsError).message).toMatch(message);
}

describe("chunkText method 'none'", () => {
  it('is the default and returns the whole text', () => {
    const text = 'One line.\nAnother line.';
    expect(chunkText(text)).toEqual([text]);
    expect(chunkText(text, { method: 'none' })).toEqual([text]);
  });

  it('returns no chunk for blank text', () => {
    expect(chunkText('')).toEqual([]);
    expect(chunkText(' \n ', { method: 'none' })).toEqual([]);
  });
});

describe("chunkText method 'word', spaced text", () => {
  it('defaults to the CLI limit of 200 words', () => {
    expect(DEFAULT_MAX_WORDS).toBe(200);
    expect(chunkText(englishWords(200), { method: 'word' })).toHaveLength(1);
    const split = chunkText(englishWords(201), { method: 'word' });
    expect(split.map((c) => spacedWords(c).length)).toEqual([200, 1]);
  });

  it('fills chunks exactly at the limit and starts a new one one word past it', () => {
    expect(chunkText(englishWords(10), { method: 'word', maxWords: 5 })).toEqual([
      'w0 w1 w2 w3 w4',
      'w5 w6 w7 w8 w9\n\n',
    ]);
    expect(chunkText(englishWords(11), { method: 'word', maxWords: 5 })).toEqual([
      'w0 w1 w2 w3 w4',
      'w5 w6 w7 w8 w9',
      'w10\n\n',
    ]);
  });

  it('keeps punctuation with its word and matches the reference " ".join', () => {
    const text = 'Hello, world! This is a test. Of chunking.';
    expect(chunkText(text, { method: 'word', maxWords: 3 })).toEqual([
      'Hello, world! This',
      'is a test.',
      'Of chunking.\n\n',
    ]);
  });

  it('counts words on either side of a line break separately, keeping the break', () => {
    const chunks = chunkText('one two.\nthree four', { method: 'word', maxWords: 3 });
    expect(chunks).toEqual(['one two.\nthree', 'four\n\n']);
  });

  it('maxWords 1 gives one word per chunk', () => {
    expect(chunkText('a b c', { method: 'word', maxWords: 1 })).toEqual(['a', 'b', 'c\n\n']);
  });
});

describe("chunkText method 'word', Chinese and Japanese", () => {
  const chinese = '我们今天去公园玩吧。明天我们一起去北京看朋友，好不好？';

  it('groups Intl.Segmenter words and joins them without spaces', () => {
    const maxWords = 3;
    const chunks = chunkText(chinese, { method: 'word', maxWords });
    expect(chunks.length).toBe(Math.ceil(cjkWords(chinese).length / maxWords));
    chunks.forEach((chunk, i) => {
      expect(chunk.trim()).not.toMatch(/\s/);
      const count = cjkWords(chunk).length;
      if (i < chunks.length - 1) expect(count).toBe(maxWords);
      else expect(count).toBeLessThanOrEqual(maxWords);
    });
    expect(chunks.join('')).toBe(`${chinese}\n\n`);
  });

  it('never starts a chunk with a punctuation mark', () => {
    for (const maxWords of [1, 2, 3, 4]) {
      for (const chunk of chunkText(chinese, { method: 'word', maxWords })) {
        expect(chunk).not.toMatch(/^[。，？！、]/u);
      }
    }
  });

  it('keeps opening quotes with the word they open', () => {
    const chunks = chunkText('他说“你好”我们走吧', { method: 'word', maxWords: 2 });
    expect(chunks.some((c) => c.startsWith('“'))).toBe(true);
    expect(chunks.some((c) => c.endsWith('“'))).toBe(false);
  });

  it('segments Japanese the same way', () => {
    const japanese = '今日はとてもいい天気ですね。明日も晴れるでしょう。';
    const chunks = chunkText(japanese, { method: 'word', maxWords: 2 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(cjkWords(chunk).length).toBeLessThanOrEqual(2);
    expect(chunks.join('')).toBe(`${japanese}\n\n`);
  });

  it('a punctuation-only paragraph is still one chunk', () => {
    expect(chunkText('。。。', { method: 'word', maxWords: 1 })).toEqual(['。。。\n\n']);
  });
});

describe("chunkText method 'word', mixed text", () => {
  it('counts Latin words inside a mostly-Chinese paragraph and keeps their spaces', () => {
    const text = '我今天去Beijing看了 hello world的朋友。我们走吧！';
    // Segmenter words include the Latin ones, so they count toward the limit.
    expect(cjkWords(text)).toEqual(expect.arrayContaining(['Beijing', 'hello', 'world']));
    const small = chunkText(text, { method: 'word', maxWords: 1 });
    expect(small).toHaveLength(cjkWords(text).length);
    expect(small).toEqual(expect.arrayContaining(['Beijing', 'hello', 'world']));
    const chunks = chunkText(text, { method: 'word', maxWords: 5 });
    for (const chunk of chunks) expect(cjkWords(chunk).length).toBeLessThanOrEqual(5);
    expect(chunks[1]).toContain('hello world');
    expectTextPreserved(chunks, text);
  });

  it('segments an unspaced Chinese run inside a mostly-English paragraph', () => {
    const text = 'He said 你好世界我们今天去公园玩吧 and then left the room quietly.';
    const chunks = chunkText(text, { method: 'word', maxWords: 3 });
    expect(chunks[0]).toBe('He said 你好');
    for (const chunk of chunks) expect(cjkWords(chunk).length).toBeLessThanOrEqual(3);
    expectTextPreserved(chunks, text);
  });

  it('never splits model markup or counts it as several words', () => {
    const text = '[SPEAKER0]<SE>[Laughter]</SE>我们今天去公园玩吧';
    const chunks = chunkText(text, { method: 'word', maxWords: 1 });
    expect(chunks.slice(0, 2)).toEqual(['[SPEAKER0]', '<SE>[Laughter]</SE>']);
    expect(chunks.join('')).toBe(`${text}\n\n`);
  });

  it('decides CJK per paragraph', () => {
    const text = 'The first paragraph is English.\n\n第二段是中文，我们今天去公园玩吧。';
    const chunks = chunkText(text, { method: 'word', maxWords: 4 });
    expect(chunks[0]).toBe('The first paragraph is');
    expect(chunks[1]).toBe('English.\n\n');
    for (const chunk of chunks.slice(2)) expect(chunk.trim()).not.toMatch(/\s/);
    expectTextPreserved(chunks, text);
  });
});

describe("chunkText method 'word', paragraphs", () => {
  it('chunks each paragraph and ends its last chunk with "\\n\\n" (final one included)', () => {
    expect(chunkText('a b c\n\nd e', { method: 'word', maxWords: 2 })).toEqual([
      'a b',
      'c\n\n',
      'd e\n\n',
    ]);
  });

  it('skips empty paragraphs instead of emitting bare "\\n\\n" chunks', () => {
    expect(chunkText('\n\na\n\n\n\n b \n\n', { method: 'word', maxWords: 5 })).toEqual([
      'a\n\n',
      'b\n\n',
    ]);
  });

  it('sees paragraphs only when normalization keeps them (the reference quirk)', () => {
    const raw = 'First paragraph here.\n\nSecond paragraph here.';
    expect(chunkText(normalizeTranscript(raw), { method: 'word' })).toEqual([
      'First paragraph here.\nSecond paragraph here.\n\n',
    ]);
    expect(chunkText(normalizeTranscript(raw, { keepParagraphs: true }), { method: 'word' })).toEqual([
      'First paragraph here.\n\n',
      'Second paragraph here.\n\n',
    ]);
  });
});

describe("chunkText method 'speaker'", () => {
  const dialogue = [
    '[SPEAKER0] Hello there.',
    'How are you?',
    '[SPEAKER1] Fine, thanks.',
    '[SPEAKER0] Good.',
    '<|speaker_id_start|>SPEAKER1<|speaker_id_end|> Bye.',
  ].join('\n');

  it('starts an utterance at each speaker tag and appends untagged lines', () => {
    expect(chunkText(dialogue, { method: 'speaker' })).toEqual([
      '[SPEAKER0] Hello there.\nHow are you?',
      '[SPEAKER1] Fine, thanks.',
      '[SPEAKER0] Good.',
      '<|speaker_id_start|>SPEAKER1<|speaker_id_end|> Bye.',
    ]);
  });

  it('groups maxTurns utterances per chunk, joined by "\\n"', () => {
    expect(chunkText(dialogue, { method: 'speaker', maxTurns: 2 })).toEqual([
      '[SPEAKER0] Hello there.\nHow are you?\n[SPEAKER1] Fine, thanks.',
      '[SPEAKER0] Good.\n<|speaker_id_start|>SPEAKER1<|speaker_id_end|> Bye.',
    ]);
    expect(chunkText(dialogue, { method: 'speaker', maxTurns: 3 })).toHaveLength(2);
    expect(chunkText(dialogue, { method: 'speaker', maxTurns: 10 })).toEqual([dialogue]);
  });

  it('keeps untagged text before the first tag as its own utterance', () => {
    expect(chunkText('Intro line.\n[SPEAKER0] Hi.', { method: 'speaker' })).toEqual([
      'Intro line.',
      '[SPEAKER0] Hi.',
    ]);
  });

  it('gives one chunk for text without tags and none for blank text', () => {
    expect(chunkText('  one\ntwo  ', { method: 'speaker' })).toEqual(['one\ntwo']);
    expect(chunkText('\n \n', { method: 'speaker' })).toEqual([]);
  });
});

describe('chunkText options', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects maxWords %s', (maxWords) => {
    expectInputError({ method: 'word', maxWords }, /maxWords/);
  });

  it.each([0, -3, 2.5])('rejects maxTurns %s', (maxTurns) => {
    expectInputError({ method: 'speaker', maxTurns }, /maxTurns/);
  });

  it('rejects an unknown method', () => {
    expectInputError({ method: 'sentence' as unknown as ChunkOptions['method'] }, /unknown chunk method "sentence"/);
  });

  it('accepts the smallest limits', () => {
    expect(chunkText('a b', { method: 'word', maxWords: 1, maxTurns: 1 })).toEqual(['a', 'b\n\n']);
  });
});

describe('chunkText on a long transcript', () => {
  const englishParagraph =
    'The quick brown fox jumps over the lazy dog, and then it runs far away into the forest. ' +
    'Nobody knows where it went, but everyone agrees that it was a remarkable sight to behold!';
  const chineseParagraph = '敏捷的棕色狐狸跳过了懒狗，然后跑进了森林深处。没有人知道它去了哪里，但大家都认为那是一个了不起的景象！';
  const transcript = Array.from({ length: 60 }, (_, i) =>
    i % 3 === 2 ? chineseParagraph : englishParagraph,
  ).join('\n\n');

  it('keeps every chunk within the limit and the text intact', () => {
    expect(transcript.length).toBeGreaterThan(5000);
    const maxWords = 17;
    const chunks = chunkText(transcript, { method: 'word', maxWords });
    for (const chunk of chunks) {
      const isChinese = /\p{scx=Han}/u.test(chunk);
      const words = isChinese ? cjkWords(chunk) : spacedWords(chunk);
      expect(words.length).toBeGreaterThan(0);
      expect(words.length).toBeLessThanOrEqual(maxWords);
    }
    expectTextPreserved(chunks, transcript);
    expect(chunks.filter((c) => c.endsWith('\n\n'))).toHaveLength(60);
  });

  it('chunks the normalized form the same way (one paragraph)', () => {
    const normalized = normalizeTranscript(transcript);
    const chunks = chunkText(normalized, { method: 'word', maxWords: 50 });
    expectTextPreserved(chunks, normalized);
    expect(chunks.filter((c) => c.endsWith('\n\n'))).toHaveLength(1);
  });
});

describe("chunkText method 'auto'", () => {
  const sentence = (i: number) => `Sentence number ${i} tells a short story about the sea.`;
  const story = (n: number) => Array.from({ length: n }, (_, i) => sentence(i)).join(' ');

  it('keeps a text that fits as one chunk, exactly like none', () => {
    const text = normalizeTranscript('Hello there. How are you today?');
    expect(chunkText(text, { method: 'auto', maxSeconds: 10 })).toEqual([text]);
    expect(chunkText('   ', { method: 'auto', maxSeconds: 10 })).toEqual([]);
  });

  it('cuts a longer text at sentence ends into chunks that each fit', () => {
    const text = normalizeTranscript(story(40));
    const chunks = chunkText(text, { method: 'auto', maxSeconds: 12 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(speakingSeconds(chunk)).toBeLessThanOrEqual(12);
      expect(chunk).toMatch(/^Sentence number \d+ .*\.$/);
    }
    expect(chunks.join(' ')).toBe(text);
  });

  it('cuts a sentence too long for one chunk at words, and a word too long at characters', () => {
    const long = `${englishWords(400)}.`;
    const chunks = chunkText(long, { method: 'auto', maxSeconds: 5 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(speakingSeconds(chunk)).toBeLessThanOrEqual(5);
    expect(chunks.join(' ')).toBe(long);
    const run = '🙂'.repeat(200);
    const pieces = chunkText(run, { method: 'auto', maxSeconds: 5 });
    expect(pieces.join('')).toBe(run);
    for (const piece of pieces) expect(speakingSeconds(piece)).toBeLessThanOrEqual(5);
  });

  it('cuts Chinese at sentences and words, never inside a word', () => {
    const text = normalizeTranscript('今天天气很好，我们去公园散步。'.repeat(60));
    const chunks = chunkText(text, { method: 'auto', maxSeconds: 10 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(speakingSeconds(chunk)).toBeLessThanOrEqual(10);
    expect(chunks.join('')).toBe(text);
    // Sentence ends after normalization are ASCII full stops.
    for (const chunk of chunks.slice(0, -1)) expect(chunk.endsWith('.')).toBe(true);
  });

  it('repeats the speaker tag on every chunk a turn continues in, and never cuts markup', () => {
    const text = normalizeTranscript(`[SPEAKER0] ${story(12)} [laugh] ${story(3)}\n[SPEAKER1] Short reply.`);
    const chunks = chunkText(text, { method: 'auto', maxSeconds: 10 });
    expect(chunks.length).toBeGreaterThan(2);
    const last = chunks.at(-1)!;
    for (const chunk of chunks) expect(chunk).toMatch(/^\[SPEAKER[01]\] /);
    expect(last.endsWith('[SPEAKER1] Short reply.')).toBe(true);
    expect(chunks.filter((c) => c.includes('<SE>[Laughter]</SE>'))).toHaveLength(1);
    expect(chunks.join(' ')).not.toMatch(/<SE>[^<]*$|^[^<]*<\/SE>/m);
  });

  it('does not split a transcript because its markup is long to write', () => {
    const text = normalizeTranscript(
      '[SPEAKER0] [music start] Welcome back. [laugh] [applause]\n[SPEAKER1] [humming start] la la [humming end] [sighs, then laughs quietly]',
    );
    const { spokenSeconds, soundEvents } = estimateSpeech(text);
    expect(soundEvents).toBe(6);
    const fits = spokenSeconds + soundEvents * SOUND_EVENT_SECONDS;
    expect(speakingSeconds(text)).toBeCloseTo(fits, 9);
    // Read as letters (0.1 s each), the text with its markup would not fit.
    expect([...text].length * 0.1).toBeGreaterThan(fits);
    expect(chunkText(text, { method: 'auto', maxSeconds: fits })).toEqual([text]);
  });

  it('never cuts a bracketed cue, even in a sentence too long for one chunk', () => {
    const cue = '[sighs, then laughs quietly]';
    // Every position of the cue against the chunk budget (3.01 s: no sum of these words lands on it exactly).
    for (let before = 1; before <= 12; before += 1) {
      const text = `${englishWords(before)} ${cue} ${englishWords(30)}.`;
      const chunks = chunkText(text, { method: 'auto', maxSeconds: 3.01 });
      expect(chunks.length).toBeGreaterThan(2);
      expect(chunks.filter((chunk) => chunk.includes(cue))).toHaveLength(1);
      expect(chunks.join(' ')).toBe(text);
    }
  });

  it('needs a positive maxSeconds', () => {
    expectInputError({ method: 'auto' }, /needs maxSeconds > 0/);
    expectInputError({ method: 'auto', maxSeconds: 0 }, /needs maxSeconds > 0/);
  });
});

describe('speakingSeconds', () => {
  it('counts a sound event once, however long its markup; longer bracketed text is read', () => {
    for (const event of ['[laugh]', '[humming]', '[music]', '<SE_s>[Humming]</SE_s>', '<SE_e>[Music]</SE_e>', '[laughs nervously, then louder]']) {
      expect(estimateSpeech(event), event).toEqual({ spokenSeconds: 0, soundEvents: 1 });
      expect(speakingSeconds(`Hello there. ${event}`)).toBeCloseTo(speakingSeconds('Hello there.') + SOUND_EVENT_SECONDS, 9);
    }
    expect(estimateSpeech('[SPEAKER0] [SPEAKER12]')).toEqual({ spokenSeconds: 0, soundEvents: 0 });
    const aside = '[this aside is a whole sentence the model would read]';
    expect(estimateSpeech(aside).soundEvents).toBe(0);
    expect(estimateSpeech(aside).spokenSeconds).toBeGreaterThan(SOUND_EVENT_SECONDS);
  });


  it('estimates on the slow side per script, and reads no markup as words', () => {
    expect(speakingSeconds('Hello there.')).toBeCloseTo(10 * 0.1 + 0.35, 5);
    expect(speakingSeconds('你好。')).toBeCloseTo(2 * 0.28 + 0.35, 5);
    expect(speakingSeconds('[SPEAKER0] <|eot_id|>')).toBe(0);
    expect(speakingSeconds('<SE>[Laughter]</SE>')).toBe(SOUND_EVENT_SECONDS);
    expect(speakingSeconds('🙂')).toBe(0.5);
    // English read at 150 words a minute takes no longer than its estimate.
    const text = 'The quick brown fox jumps over the lazy dog while the band plays on.';
    expect(speakingSeconds(text)).toBeGreaterThanOrEqual(text.split(' ').length / 2.5);
  });
});
