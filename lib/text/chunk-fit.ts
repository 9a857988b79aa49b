/**
 * The default chunking ('auto'): a transcript whose estimated speaking time fits the budget stays
 * one chunk (the same as 'none'); a longer one is cut into chunks that each fit: at sentence ends,
 * a sentence that alone is too long at words (Intl.Segmenter for scripts without spaces), and a
 * word that is still too long at characters. Markup is never cut. A speaker turn that goes on
 * in the next chunk starts it with its [SPEAKERn] tag again, so the voice stays the same.
 */
import { BRACKET_TAG_SOURCE, SPEAKER_TAG_SOURCE } from './markup.js';
import { ATOMIC_MARKUP, speakerTurns, wordStarts } from './segments.js';
import { speakingSeconds } from './speaking-time.js';

const LEADING_TAG = new RegExp(`^${SPEAKER_TAG_SOURCE}`, 'u');
// Never cut either: a bracketed cue is one sound event to the estimate, so its pieces would not add up.
const UNCUT = new RegExp(`${ATOMIC_MARKUP.source}|${BRACKET_TAG_SOURCE}`, 'gu');

let sentenceSegmenter: Intl.Segmenter | undefined;
let graphemeSegmenter: Intl.Segmenter | undefined;

/** Chunks of `text` (normalized) that each take at most `maxSeconds` to say, where it can be cut. */
export function chunkToFit(text: string, maxSeconds: number): string[] {
  if (text.trim() === '') return [];
  if (speakingSeconds(text) <= maxSeconds) return [text];
  const chunks: string[] = [];
  let current = '';
  let seconds = 0;
  for (const turn of speakerTurns(text)) {
    const tag = LEADING_TAG.exec(turn)?.[0];
    pieces(turn, maxSeconds).forEach((piece, i) => {
      const pieceSeconds = speakingSeconds(piece);
      if (current !== '' && seconds + pieceSeconds <= maxSeconds) {
        current += i === 0 ? `\n${piece}` : piece;
        seconds += pieceSeconds;
        return;
      }
      if (current !== '') chunks.push(current.trim());
      // The first piece of a turn holds its tag; a later one that opens a chunk needs it again.
      current = i > 0 && tag !== undefined ? `${tag} ${piece.trimStart()}` : piece;
      seconds = pieceSeconds;
    });
  }
  if (current.trim() !== '') chunks.push(current.trim());
  return chunks;
}

/** `turn` cut into consecutive slices (together the whole turn), each within `maxSeconds` if it can be. */
function pieces(turn: string, maxSeconds: number): string[] {
  return cutAt(turn, sentenceStarts(turn)).flatMap((sentence) => {
    if (speakingSeconds(sentence) <= maxSeconds) return [sentence];
    return pack(cutAt(sentence, outsideMarkup(sentence, wordStarts(sentence))), maxSeconds).flatMap((words) =>
      speakingSeconds(words) <= maxSeconds ? [words] : pack(cutAt(words, graphemeStarts(words)), maxSeconds),
    );
  });
}

/** Consecutive slices joined greedily while their sum stays within `maxSeconds` (slices never cut markup, so times add up). */
function pack(slices: string[], maxSeconds: number): string[] {
  const packed: string[] = [];
  let current = '';
  let seconds = 0;
  for (const slice of slices) {
    const sliceSeconds = speakingSeconds(slice);
    if (current !== '' && seconds + sliceSeconds > maxSeconds) {
      packed.push(current);
      current = '';
      seconds = 0;
    }
    current += slice;
    seconds += sliceSeconds;
  }
  if (current !== '') packed.push(current);
  return packed;
}

/** `text` cut before each offset in `starts` (0 and duplicates ignored), keeping every character. */
function cutAt(text: string, starts: readonly number[]): string[] {
  const cuts = [...new Set(starts.filter((at) => at > 0 && at < text.length))].sort((a, b) => a - b);
  const slices: string[] = [];
  let from = 0;
  for (const at of cuts) {
    slices.push(text.slice(from, at));
    from = at;
  }
  slices.push(text.slice(from));
  return slices;
}

function sentenceStarts(text: string): number[] {
  sentenceSegmenter ??= new Intl.Segmenter(undefined, { granularity: 'sentence' });
  return outsideMarkup(text, [...sentenceSegmenter.segment(text)].map((s) => s.index));
}

/** Last resort for a "word" too long to say in one chunk (a run of emoji or symbols). */
function graphemeStarts(text: string): number[] {
  graphemeSegmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return outsideMarkup(text, [...graphemeSegmenter.segment(text)].map((s) => s.index));
}

/** Drops offsets that would cut a piece of markup in two. */
function outsideMarkup(text: string, offsets: number[]): number[] {
  const spans = [...text.matchAll(UNCUT)].map((m) => [m.index, m.index + m[0].length] as const);
  return offsets.filter((at) => !spans.some(([from, to]) => at > from && at < to));
}
