/**
 * Long-text chunking, following prepare_chunk_text in boson-ai examples/generation.py: the
 * engine generates one chunk per user turn, feeding earlier chunks' audio back as context.
 */
import { HiggsError } from '../errors.js';

export const CHUNK_METHODS = ['none', 'speaker', 'word'] as const;
export type ChunkMethod = (typeof CHUNK_METHODS)[number];

/** The reference CLI default (--chunk_max_word_num); its function default is 100. */
export const DEFAULT_MAX_WORDS = 200;
export const DEFAULT_MAX_TURNS = 1;

export interface ChunkOptions {
  /** 'none' (default, like the reference): the whole text is one chunk. */
  method?: ChunkMethod;
  /** 'word': most words per chunk (CJK words as the segmenter finds them). */
  maxWords?: number;
  /** 'speaker': most utterances (speaker turns) per chunk. */
  maxTurns?: number;
}

/** Split a (normalized) transcript into the chunks generated one after another. */
export function chunkText(text: string, options: ChunkOptions = {}): string[] {
  const { method, maxWords, maxTurns } = validateChunkOptions(options);
  switch (method) {
    case 'none':
      // Deviation: blank text gives no chunk, not [""] (chunks are never empty).
      return text.trim() === '' ? [] : [text];
    case 'speaker':
      return chunkBySpeaker(text, maxTurns);
    case 'word':
      return chunkByWords(text, maxWords);
  }
}

function validateChunkOptions(options: ChunkOptions): Required<ChunkOptions> {
  const method = options.method ?? 'none';
  const maxWords = options.maxWords ?? DEFAULT_MAX_WORDS;
  const maxTurns = options.maxTurns ?? DEFAULT_MAX_TURNS;
  if (!(CHUNK_METHODS as readonly string[]).includes(method)) {
    throw new HiggsError('E_INPUT', `unknown chunk method "${String(method)}" (expected ${CHUNK_METHODS.join(', ')})`);
  }
  if (!Number.isInteger(maxWords) || maxWords < 1) {
    throw new HiggsError('E_INPUT', `chunk maxWords must be an integer >= 1, got ${String(maxWords)}`);
  }
  if (!Number.isInteger(maxTurns) || maxTurns < 1) {
    throw new HiggsError('E_INPUT', `chunk maxTurns must be an integer >= 1, got ${String(maxTurns)}`);
  }
  return { method, maxWords, maxTurns };
}

// ---------------------------------------------------------------------------------------------
// 'speaker': one utterance per speaker tag, grouped maxTurns at a time.

const UTTERANCE_STARTS = ['[SPEAKER', '<|speaker_id_start|>'];

function chunkBySpeaker(text: string, maxTurns: number): string[] {
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

  const chunks: string[] = [];
  for (let i = 0; i < utterances.length; i += maxTurns) {
    chunks.push(utterances.slice(i, i + maxTurns).join('\n'));
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// 'word': paragraphs (split on "\n\n"), each cut every maxWords words.

const PARAGRAPH_END = '\n\n';

function chunkByWords(text: string, maxWords: number): string[] {
  const chunks: string[] = [];
  for (const rawParagraph of text.split(PARAGRAPH_END)) {
    const paragraph = rawParagraph.trim();
    // Deviation: the reference emits a bare "\n\n" chunk for an empty paragraph; we skip it.
    if (paragraph === '') continue;
    // Deviation: the reference picks the language once with langid over the whole text; we
    // decide per paragraph, so a Chinese paragraph in an English text is still segmented.
    const starts = isMostlyCjk(paragraph) ? cjkWordStarts(paragraph) : spacedWordStarts(paragraph);
    const paragraphChunks = cutEvery(paragraph, starts, maxWords);
    // The reference appends "\n\n" to each paragraph's last chunk, the final paragraph included;
    // we keep that too, so word-chunked prompts match the reference's tokens exactly.
    paragraphChunks[paragraphChunks.length - 1] += PARAGRAPH_END;
    chunks.push(...paragraphChunks);
  }
  return chunks;
}

/**
 * Cut `text` before every maxWords-th word. Chunks are slices of the original text, so the
 * spacing inside a chunk is kept as written: CJK words join without spaces (like the reference's
 * "".join of jieba tokens) and spaced words keep their single spaces (like its " ".join).
 * Punctuation and spaces between words stay with the word before them.
 */
function cutEvery(text: string, wordStarts: readonly number[], maxWords: number): string[] {
  const chunks: string[] = [];
  let from = 0;
  for (let i = maxWords; i < wordStarts.length; i += maxWords) {
    const to = wordStarts[i] as number;
    chunks.push(text.slice(from, to).trim());
    from = to;
  }
  chunks.push(text.slice(from).trim());
  return chunks;
}

// Model markup that must never be cut in two or counted as several words.
const ATOMIC_MARKUP =
  /<(SE|SE_s|SE_e)>.*?<\/\1>|<\|speaker_id_start\|>.*?<\|speaker_id_end\|>|<\|[a-z_]+\|>|\[SPEAKER\d+\]/gu;

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
