/**
 * Where transcript text may be cut: speaker turns, words (spaced scripts at whitespace, Chinese
 * and Japanese with Intl.Segmenter) and the model markup that is never cut in two. Shared by the
 * reference chunk methods (chunking.ts) and the automatic one (chunk-fit.ts).
 */
import { CONTROL_TOKEN_SOURCE, SOUND_EVENT_SOURCE, SPEAKER_TAG_SOURCE } from './markup.js';

// Speaker turns: a line starting with one of these starts a new utterance.
const UTTERANCE_STARTS = ['[SPEAKER', '<|speaker_id_start|>'];

/** The utterances of a transcript, trimmed, in order; untagged lines continue the current one. */
export function speakerTurns(text: string): string[] {
  const utterances: string[] = [];
  let current = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (UTTERANCE_STARTS.some((start) => line.startsWith(start))) {
      if (current.trim() !== '') utterances.push(current.trim());
      current = line;
    } else {
      // Untagged lines continue the current utterance (text before the first tag is its own).
      current = current === '' ? line : `${current}\n${line}`;
    }
  }
  if (current.trim() !== '') utterances.push(current.trim());
  return utterances;
}

/** Offsets where the words of `paragraph` start (Chinese/Japanese-majority text: segmented). */
export function wordStarts(paragraph: string): number[] {
  return isMostlyCjk(paragraph) ? cjkWordStarts(paragraph) : spacedWordStarts(paragraph);
}

// Model markup that must never be cut in two or counted as several words.
export const ATOMIC_MARKUP = new RegExp(
  [SOUND_EVENT_SOURCE, String.raw`<\|speaker_id_start\|>.*?<\|speaker_id_end\|>`, CONTROL_TOKEN_SOURCE, SPEAKER_TAG_SOURCE].join('|'),
  'gu',
);

// "CJK" here = Chinese and Japanese scripts, which are written without spaces between words.
// Korean is spaced, so Hangul is handled like Latin text.
const LETTER = /\p{L}/gu;
const CJK_LETTER = /(?=\p{L})[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/gu;
const HAS_CJK_LETTER = /(?=\p{L})[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u;

/** Most letters (markup aside) are Chinese/Japanese: our per-paragraph stand-in for langid "zh". */
function isMostlyCjk(paragraph: string): boolean {
  const plain = paragraph.replace(ATOMIC_MARKUP, ' ');
  const letters = plain.match(LETTER)?.length ?? 0;
  const cjkLetters = plain.match(CJK_LETTER)?.length ?? 0;
  return cjkLetters * 2 > letters;
}

/**
 * Word starts of spaced text: one word per whitespace-separated token, as the reference's
 * split(" "). Deviations: any whitespace separates (the reference counts "end.\nNext" as one
 * word and counts empty strings between double spaces), and a token holding CJK letters is
 * segmented further so that an unspaced Chinese run in English text cannot make a huge "word".
 */
function spacedWordStarts(text: string): number[] {
  const starts: number[] = [];
  for (const token of text.matchAll(/\S+/gu)) {
    const at = token.index;
    if (!HAS_CJK_LETTER.test(token[0])) {
      starts.push(at);
      continue;
    }
    const inner = cjkWordStarts(token[0]);
    starts.push(at, ...inner.slice(1).map((start) => at + start));
  }
  return starts;
}

const OPENING_PUNCTUATION = /^[\p{Ps}\p{Pi}]+$/u;

let cjkSegmenter: Intl.Segmenter | undefined;

/**
 * Word starts of unspaced text. Deviation: Intl.Segmenter (ICU's dictionary, locale zh; it also
 * covers Japanese kana) replaces jieba, and only word-like segments count: jieba also counts each
 * punctuation mark and space as a token, which let a chunk start with a lone "。". Latin words
 * inside are words of their own; model markup is one word. The first word starts at 0 so that
 * leading punctuation stays in the first chunk; other punctuation stays with the word before it,
 * except opening quotes and brackets (“「《( …), which go with the word after.
 */
function cjkWordStarts(text: string): number[] {
  cjkSegmenter ??= new Intl.Segmenter('zh', { granularity: 'word' });
  const segmenter = cjkSegmenter;
  const starts: number[] = [];
  const addSegmentWords = (from: number, to: number): void => {
    let openingAt: number | undefined; // opening quotes/brackets go with the word they open
    for (const segment of segmenter.segment(text.slice(from, to))) {
      if (segment.isWordLike) {
        starts.push(from + (openingAt ?? segment.index));
        openingAt = undefined;
      } else if (OPENING_PUNCTUATION.test(segment.segment)) {
        openingAt ??= segment.index;
      } else {
        openingAt = undefined;
      }
    }
  };
  let cursor = 0;
  for (const markup of text.matchAll(ATOMIC_MARKUP)) {
    addSegmentWords(cursor, markup.index);
    starts.push(markup.index);
    cursor = markup.index + markup[0].length;
  }
  addSegmentWords(cursor, text.length);
  if (starts.length > 0) starts[0] = 0;
  return starts;
}
