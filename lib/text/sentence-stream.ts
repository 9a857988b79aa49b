/**
 * Sentences cut from text that arrives in pieces (an LLM's tokens, a speech recognizer's words),
 * so each can be spoken as soon as its end arrives. A sentence ends at a sentence mark (. ! ? …)
 * with its closing quotes or brackets, once whitespace follows; marks of scripts that write no
 * space after them (。！？ ।) need only the next character. "Dr." style abbreviations, initials
 * ("J. K.") and list numbers ("1. ") do not end one, nor does a mark inside a word or number
 * ("3.5", "e.g.x"); a blank line does. A sentence that grows past `clauseSeconds` of estimated
 * speaking time is cut at its last clause mark (, ; : — 、，), and one past `maxSeconds` at its
 * last whitespace (or, in scripts without spaces, where it has got to).
 *
 * Every decision rests on the characters seen so far, taken one at a time, so the sentences do
 * not depend on how the text was cut into pieces: one character at a time gives what one push of
 * the whole text gives.
 */
import { speakingSeconds } from './speaking-time.js';

export interface SentenceBounds {
  /** Estimated seconds (lib/text/speaking-time.ts) past which a sentence is cut at its last clause mark. */
  clauseSeconds: number;
  /** Past this a sentence is cut at its last whitespace, or where it has got to. */
  maxSeconds: number;
  /** Characters past which a sentence is cut so, whatever its estimate (markup costs no time to say). */
  maxChars: number;
}

/**
 * About two and four lines of speech: a clause cut keeps a long sentence's first audio near, and
 * the hard cut keeps every piece one chunk of the default 'auto' chunking (its budget is 24.6 s
 * at the default frame cap, lib/speech/synthesis.ts autoChunkSeconds).
 */
export const SENTENCE_BOUNDS: Readonly<SentenceBounds> = { clauseSeconds: 10, maxSeconds: 20, maxChars: 1000 };

/** Marks that end a sentence once whitespace follows. */
const SPACED_ENDS = new Set(['.', '!', '?', '…', '‼', '⁇', '⁈', '⁉', '؟', '۔', '։']);
/** Marks that end a sentence without a space after them (CJK, Devanagari, Ethiopic...). */
const UNSPACED_ENDS = new Set(['。', '！', '？', '．', '｡', '।', '॥', '።', '፧']);
/** Closing quotes and brackets that stay with the sentence they close. */
const CLOSERS = new Set(['"', "'", '”', '’', '»', '›', ')', ']', '}', '」', '』', '）', '】', '〕', '》', '〉', '＂', '＇', '］', '｝']);
/** Clause marks that need whitespace after them to be a cut, and those that do not. */
const SPACED_CLAUSES = new Set([',', ';', ':', '—', '–']);
const UNSPACED_CLAUSES = new Set(['、', '，', '；', '：']);
/** Words whose full stop is not a sentence end (compared lower case, without the stop). */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'mx', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'cf', 'fig', 'approx', 'etc']);
/** Where a cut may not fall: inside a surrogate pair, before a combining mark, joiner or variation selector. */
const NO_CUT_BEFORE = /[\udc00-\udfff\p{M}\u200d\ufe00-\ufe0f]/u;
const WHITESPACE = /\s/u;

export class SentenceSplitter {
  /** The sentence being built (it may start with whitespace: trimmed when it is given out). */
  private pending = '';
  /** A sentence end seen at this offset of `pending`, waiting for the next character to confirm it. */
  private endAt: number | null = null;
  private endNeedsSpace = false;
  private readonly bounds: SentenceBounds;

  constructor(bounds: Partial<SentenceBounds> = {}) {
    this.bounds = { ...SENTENCE_BOUNDS, ...bounds };
    const { clauseSeconds, maxSeconds, maxChars } = this.bounds;
    if (!(clauseSeconds > 0 && maxSeconds >= clauseSeconds && maxChars >= 2)) {
      throw new RangeError('SentenceSplitter: 0 < clauseSeconds <= maxSeconds, maxChars >= 2');
    }
  }

  /** Text taken but not yet given out as a sentence. */
  get pendingText(): string {
    return this.pending;
  }

  /** An independent copy: what a push would give, tried without changing this one. */
  clone(): SentenceSplitter {
    const copy = new SentenceSplitter(this.bounds);
    copy.pending = this.pending;
    copy.endAt = this.endAt;
    copy.endNeedsSpace = this.endNeedsSpace;
    return copy;
  }

  /** Takes `delta` and gives the sentences it completed, in order (trimmed, never empty). */
  push(delta: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < delta.length; i += 1) this.step(delta[i]!, out);
    return out;
  }

  /** The end of the text: whatever is pending, as sentences. */
  flush(): string[] {
    const out: string[] = [];
    this.emit(this.pending.length, out);
    this.endAt = null;
    return out;
  }

  private step(char: string, out: string[]): void {
    // A sentence starts at its first non-space, and a run of whitespace is kept as one space or
    // line break (a line break wins; a blank line still shows as two): the pending text stays as long as
    // what it says, and its estimate below cheap.
    if (WHITESPACE.test(char)) {
      const last = this.pending.at(-1);
      if (last === undefined) return;
      if (WHITESPACE.test(last)) {
        if (char !== '\n') return;
        if (last !== '\n') this.pending = this.pending.slice(0, -1);
      }
    }
    this.pending += char === '\n' || !WHITESPACE.test(char) ? char : ' ';
    const at = this.pending.length - 1; // where `char` is
    if (this.endAt !== null) {
      if (at === this.endAt && (CLOSERS.has(char) || SPACED_ENDS.has(char) || UNSPACED_ENDS.has(char))) {
        this.endAt = at + 1; // "?!", "...", '."' : the end moves past them
        return;
      }
      const confirmed = !this.endNeedsSpace || WHITESPACE.test(char);
      const end = this.endAt;
      this.endAt = null;
      if (confirmed) {
        this.emit(end, out);
        return;
      }
    }
    if (SPACED_ENDS.has(char) || UNSPACED_ENDS.has(char)) {
      if (UNSPACED_ENDS.has(char) || !this.keepsGoing(at)) {
        this.endAt = at + 1;
        this.endNeedsSpace = !UNSPACED_ENDS.has(char);
      }
      return;
    }
    if (char === '\n' && /\n[^\S\n]*\n$/u.test(this.pending)) {
      this.emit(this.pending.length, out); // a blank line: a paragraph ends
      return;
    }
    this.cutIfLong(out);
  }

  /** Whether the full stop at `at` belongs to an abbreviation, an initial or a list number. */
  private keepsGoing(at: number): boolean {
    if (this.pending[at] !== '.') return false;
    const before = this.pending.slice(0, at);
    const word = /(\S*)$/u.exec(before)![1]!.replace(/^[("'“‘«[{]+/u, '');
    if (ABBREVIATIONS.has(word.toLowerCase())) return true;
    if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) return true; // "e.g.", "i.e.", "U.S."
    if (/^\p{Lu}$/u.test(word) && word !== 'I') return true; // an initial: "J. K. Rowling"
    return /(?:^|\n)\s*\d{1,3}$/u.test(before); // a list's number at the start of a line: "1. First item"
  }

  /** Past the bounds: cut at the last clause mark, or (far past) at the last whitespace or here. */
  private cutIfLong(out: string[]): void {
    const seconds = speakingSeconds(this.pending);
    const tooLong = this.pending.length > this.bounds.maxChars;
    if (seconds <= this.bounds.clauseSeconds && !tooLong) return;
    const clause = this.lastClauseCut();
    if (clause > 0) return this.emit(clause, out);
    if (seconds <= this.bounds.maxSeconds && !tooLong) return;
    this.emit(this.lastHardCut(), out);
  }

  /** The offset just after the last clause mark that something follows (spaced marks: whitespace). */
  private lastClauseCut(): number {
    const text = this.pending;
    for (let i = text.length - 2; i >= 0; i -= 1) {
      const char = text[i]!;
      if (UNSPACED_CLAUSES.has(char) && text.slice(0, i).trim() !== '') return i + 1;
      if (SPACED_CLAUSES.has(char) && WHITESPACE.test(text[i + 1]!) && text.slice(0, i).trim() !== '') return i + 1;
    }
    return 0;
  }

  /** The last whitespace after some text, else before the last character (never inside a character). */
  private lastHardCut(): number {
    const text = this.pending;
    for (let i = text.length - 1; i > 0; i -= 1) {
      if (WHITESPACE.test(text[i]!) && text.slice(0, i).trim() !== '') return i;
    }
    let cut = text.length - 1;
    while (cut > 0 && NO_CUT_BEFORE.test(text[cut]!)) cut -= 1;
    return cut;
  }

  /** Gives out pending[0, end) as a sentence (if it holds anything) and keeps the rest. */
  private emit(end: number, out: string[]): void {
    const sentence = this.pending.slice(0, end).trim();
    this.pending = this.pending.slice(end);
    if (this.pending.trim() === '') this.pending = '';
    if (sentence !== '') out.push(sentence);
  }
}
