// The incremental sentence splitter of text-in streaming (lib/text/sentence-stream.ts): where
// sentences end per script, what does not end one, the clause and hard cuts of long sentences,
// and the same sentences whichever way the text is cut into pieces.
import { describe, expect, it } from 'vitest';
import { SENTENCE_BOUNDS, SentenceSplitter } from '../../lib/text/sentence-stream.js';
import { speakingSeconds } from '../../lib/text/speaking-time.js';

/** Every sentence of `text` pushed as `pieces`, then flushed. */
function split(pieces: readonly string[], splitter = new SentenceSplitter()): string[] {
  return [...pieces.flatMap((piece) => splitter.push(piece)), ...splitter.flush()];
}
const whole = (text: string) => split([text]);
const byChar = (text: string) => split([...text]);

describe('SentenceSplitter', () => {
  it('ends a sentence at . ! ? once whitespace follows, and gives the rest on flush', () => {
    expect(whole('Hello there. How are you? Fine!')).toEqual(['Hello there.', 'How are you?', 'Fine!']);
    const splitter = new SentenceSplitter();
    expect(splitter.push('Hello.')).toEqual([]); // "Hello.5" or "Hello. ": not known yet
    expect(splitter.push(' W')).toEqual(['Hello.']);
    expect(splitter.pendingText).toBe('W');
    expect(splitter.flush()).toEqual(['W']);
    expect(splitter.flush()).toEqual([]);
  });

  it('keeps closing quotes and brackets, and runs of marks, with their sentence', () => {
    expect(whole('He said "Hi." Then he left.')).toEqual(['He said "Hi."', 'Then he left.']);
    expect(whole('Really?! (Yes.) Wait... what')).toEqual(['Really?!', '(Yes.)', 'Wait...', 'what']);
    expect(whole('«Oui.» Non.')).toEqual(['«Oui.»', 'Non.']);
  });

  it('does not end a sentence at abbreviations, initials, list numbers, decimals or dots inside words', () => {
    expect(whole('Dr. Smith met Mrs. Jones at 3.5 p.m. today. Next.')).toEqual(['Dr. Smith met Mrs. Jones at 3.5 p.m. today.', 'Next.']);
    expect(whole('J. K. Rowling wrote it, e.g. this one. So did I. Yes.')).toEqual(['J. K. Rowling wrote it, e.g. this one.', 'So did I.', 'Yes.']);
    expect(whole('1. First item\n2. Second item')).toEqual(['1. First item\n2. Second item']);
    expect(whole('It costs 3. Then more.')).toEqual(['It costs 3.', 'Then more.']);
    expect(whole('See example.com for more.')).toEqual(['See example.com for more.']);
  });

  it('ends CJK and Devanagari sentences at their marks with no space after them', () => {
    expect(whole('你好。今天好吗？很好！')).toEqual(['你好。', '今天好吗？', '很好！']);
    expect(whole('「行こう。」と言った。')).toEqual(['「行こう。」', 'と言った。']);
    expect(whole('नमस्ते। कैसे हो?')).toEqual(['नमस्ते।', 'कैसे हो?']);
    // The next character decides (a closing bracket could still follow): the end waits for it.
    const splitter = new SentenceSplitter();
    expect(splitter.push('你好。')).toEqual([]);
    expect(splitter.push('今')).toEqual(['你好。']);
  });

  it('ends a paragraph at a blank line, and collapses whitespace runs', () => {
    expect(whole('A heading\n\nThe   body\tgoes on\n \n')).toEqual(['A heading', 'The body goes on']);
    expect(whole('   \n\n  ')).toEqual([]);
  });

  it('cuts a sentence that grows past the clause bound at its last clause mark', () => {
    const clause = 'the quick brown fox jumps over the lazy dog';
    const text = `${Array.from({ length: 6 }, () => clause).join(', ')}.`;
    const sentences = whole(text);
    expect(sentences.length).toBeGreaterThan(1);
    expect(sentences.join(' ')).toBe(text);
    for (const sentence of sentences.slice(0, -1)) {
      expect(sentence.endsWith(',')).toBe(true);
      expect(speakingSeconds(sentence)).toBeLessThanOrEqual(SENTENCE_BOUNDS.clauseSeconds);
    }
    expect(whole('一二三四五六七八九十、一二三四五六七八九十、一二三四五六七八九十、一二三四五六七八九十。')).toEqual([
      '一二三四五六七八九十、一二三四五六七八九十、一二三四五六七八九十、',
      '一二三四五六七八九十。',
    ]);
  });

  it('cuts a sentence with no clause mark past the hard bound at whitespace, or anywhere in scripts without spaces', () => {
    const text = 'word '.repeat(100).trim();
    const sentences = whole(text);
    expect(sentences.length).toBeGreaterThan(1);
    expect(sentences.join(' ')).toBe(text);
    for (const sentence of sentences) expect(speakingSeconds(sentence)).toBeLessThanOrEqual(SENTENCE_BOUNDS.maxSeconds + 0.5);
    const han = '字'.repeat(200);
    const pieces = whole(han);
    expect(pieces.join('')).toBe(han);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(100);
    // Never inside a character: emoji are surrogate pairs.
    const emoji = '😀'.repeat(100);
    expect(whole(emoji).every((piece) => !/[\ud800-\udbff]$/.test(piece))).toBe(true);
    expect(whole(emoji).join('')).toBe(emoji);
  });

  it('cuts text that is long to write but short to say at maxChars', () => {
    const splitter = new SentenceSplitter({ maxChars: 50 });
    const text = '<|x|>'.repeat(30);
    const pieces = split([text], splitter);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(51);
  });

  it('gives the same sentences whichever way the text is cut into pieces', () => {
    const texts = [
      'Hello there. How are you? "Fine," she said. Dr. Who arrived at 3.5 p.m. today... Really?! Yes.\n\nNew paragraph',
      '你好。「行こう。」と言った。今天好吗？नमस्ते। कैसे हो?',
      `${'the quick brown fox jumps over the lazy dog, '.repeat(8)}and ${'word '.repeat(120)}end.`,
      `${'字'.repeat(150)}。${'😀'.repeat(40)} 1. First\n2. Second`,
    ];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const text of texts) {
      const expected = whole(text);
      expect(byChar(text), text).toEqual(expected);
      for (let trial = 0; trial < 20; trial += 1) {
        const pieces: string[] = [];
        for (let at = 0; at < text.length; ) {
          const size = 1 + Math.floor(random() * 12);
          pieces.push(text.slice(at, at + size));
          at += size;
        }
        expect(split(pieces), text).toEqual(expected);
      }
    }
  });

  it('clones: a trial push leaves the original as it was', () => {
    const splitter = new SentenceSplitter();
    splitter.push('One. Tw');
    const trial = splitter.clone();
    expect(trial.push('o. Three')).toEqual(['Two.']);
    expect(splitter.pendingText).toBe('Tw');
    expect(splitter.push('o!')).toEqual([]);
    expect(splitter.flush()).toEqual(['Two!']);
  });
});
