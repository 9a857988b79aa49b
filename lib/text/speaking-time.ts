/**
 * How long a text takes to say, estimated on the slow side: the automatic chunking plans chunks
 * that must fit a frame cap, so it is better to guess long. Rates per character class:
 * syllabic scripts (Chinese, Japanese kana, Korean syllables) ~3.5 characters/s; alphabetic
 * text ~10 letters/s (about 150 words a minute, spaces free); a digit a short word; emoji, which the model may read
 * out or skip, 0.5 s each, other symbols ("$", "%") a word each; a pause after clauses and
 * sentences. Model markup is not read out: speaker tags and control tokens cost nothing, a sound
 * event about a second. Every other character costs a little, so no text is ever free.
 */
import { CONTROL_TOKEN_SOURCE, SOUND_EVENT_SOURCE, SPEAKER_TAG_SOURCE } from './markup.js';

// Letters only: CJK punctuation (。) also carries these script extensions.
const SYLLABIC = /(?=\p{L})[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]/u;
const LETTER = /\p{L}/u;
const DIGIT = /\p{N}/u;
const EMOJI = /\p{Extended_Pictographic}/u;
const SYMBOL = /\p{S}/u;
const SENTENCE_END = /[.!?。！？…]/u;
const CLAUSE_END = /[,;:，；：、]/u;
const PUNCTUATION = /\p{P}/u;
const SILENT = /[\s\p{M}]/u;

/** Seconds per character (or pause) of each class. */
const SECONDS = {
  syllabic: 0.28,
  alphabetic: 0.1,
  digit: 0.25,
  emoji: 0.5,
  symbol: 0.3,
  sentencePause: 0.35,
  clausePause: 0.15,
  punctuation: 0.05,
  other: 0.02,
  soundEvent: 1.0,
};

/** Markup that is never spoken as written: sound events, speaker tags, control tokens. */
const SOUND_EVENT = new RegExp(SOUND_EVENT_SOURCE, 'gu');
const SILENT_MARKUP = new RegExp(`${SPEAKER_TAG_SOURCE}|${CONTROL_TOKEN_SOURCE}`, 'gu');

export function speakingSeconds(text: string): number {
  let seconds = 0;
  const plain = text
    .replace(SOUND_EVENT, () => {
      seconds += SECONDS.soundEvent;
      return ' ';
    })
    .replace(SILENT_MARKUP, ' ');
  for (const char of plain) seconds += secondsOf(char);
  return seconds;
}

function secondsOf(char: string): number {
  if (SILENT.test(char)) return 0;
  if (SYLLABIC.test(char)) return SECONDS.syllabic;
  if (LETTER.test(char)) return SECONDS.alphabetic;
  if (DIGIT.test(char)) return SECONDS.digit;
  if (EMOJI.test(char)) return SECONDS.emoji;
  if (SYMBOL.test(char)) return SECONDS.symbol;
  if (SENTENCE_END.test(char)) return SECONDS.sentencePause;
  if (CLAUSE_END.test(char)) return SECONDS.clausePause;
  if (PUNCTUATION.test(char)) return SECONDS.punctuation;
  return SECONDS.other;
}
