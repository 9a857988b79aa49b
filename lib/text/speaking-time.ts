/**
 * How long a text takes to say, estimated on the slow side: the automatic chunking plans chunks
 * that must fit a frame cap, so it is better to guess long. Rates per character class:
 * syllabic scripts (Chinese, Japanese kana, Korean syllables) ~3.5 characters/s; alphabetic
 * text ~10 letters/s (about 150 words a minute, spaces free); a digit a short word; emoji, which the model may read
 * out or skip, 0.5 s each, other symbols ("$", "%") a word each; a pause after clauses and
 * sentences. Model markup is not read out: speaker tags and control tokens cost nothing, and a
 * sound event (the <SE> markup or a short bracketed cue like [humming]) costs SOUND_EVENT_SECONDS
 * however long its markup is. Every other character costs a little, so no text is ever free.
 */
import { BRACKET_TAG_SOURCE, CONTROL_TOKEN_SOURCE, SOUND_EVENT_SOURCE, SPEAKER_TAG_SOURCE } from './markup.js';

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
};

/**
 * One sound event, whatever its markup: a laugh takes about a second, a music sting or a hummed
 * phrase a few. The one source for what an event costs: the frame cap (lib/speech/synthesis.ts)
 * scales it by the same margin as speech.
 */
export const SOUND_EVENT_SECONDS = 2;

/** Markup that is never spoken as written: sound events, speaker tags, control tokens. */
const SOUND_EVENT = new RegExp(SOUND_EVENT_SOURCE, 'gu');
const SILENT_MARKUP = new RegExp(`${SPEAKER_TAG_SOURCE}|${CONTROL_TOKEN_SOURCE}`, 'gu');
// Matched after speaker tags are gone, so "[SPEAKER0]" is never an event.
const BRACKET_TAG = new RegExp(BRACKET_TAG_SOURCE, 'gu');

/** The two parts of the estimate: the spoken text's seconds, and how many sound events it holds. */
export interface SpeechEstimate {
  spokenSeconds: number;
  soundEvents: number;
}

export function estimateSpeech(text: string): SpeechEstimate {
  const { spoken, soundEvents } = withoutMarkup(text);
  let spokenSeconds = 0;
  for (const char of spoken) spokenSeconds += secondsOf(char);
  return { spokenSeconds, soundEvents };
}

/**
 * Whether a text holds anything the model can say: a sound event, or a letter, digit, emoji or
 * symbol outside the markup. Control characters, whitespace, punctuation and markup alone (speaker
 * tags, control tokens) are nothing to say.
 */
export function hasSomethingToSay(text: string): boolean {
  const { spoken, soundEvents } = withoutMarkup(text);
  return soundEvents > 0 || SAYABLE.test(spoken);
}
const SAYABLE = /[\p{L}\p{N}\p{S}]/u;

/** The text with its markup replaced by spaces, and how many sound events that markup held. */
function withoutMarkup(text: string): { spoken: string; soundEvents: number } {
  let soundEvents = 0;
  const countEvent = (): string => {
    soundEvents += 1;
    return ' ';
  };
  const spoken = text.replace(SOUND_EVENT, countEvent).replace(SILENT_MARKUP, ' ').replace(BRACKET_TAG, countEvent);
  return { spoken, soundEvents };
}

/** The whole estimate: spoken text plus SOUND_EVENT_SECONDS per sound event. */
export function speakingSeconds(text: string): number {
  const { spokenSeconds, soundEvents } = estimateSpeech(text);
  return spokenSeconds + soundEvents * SOUND_EVENT_SECONDS;
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
