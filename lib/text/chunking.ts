/**
 * Long-text chunking: the engine generates one chunk per user turn, feeding earlier chunks' audio
 * back as context. 'none', 'speaker' and 'word' follow prepare_chunk_text in boson-ai
 * examples/generation.py; 'auto' (our default) cuts only what would not fit the frame cap.
 */
import { HiggsError } from '../common/errors.js';
import { chunkToFit } from './chunk-fit.js';
import { speakerTurns, wordStarts } from './segments.js';

export const CHUNK_METHODS = ['auto', 'none', 'speaker', 'word'] as const;
export type ChunkMethod = (typeof CHUNK_METHODS)[number];
/** What a request gets when it names no method: split only what would not fit the frame cap. */
export const DEFAULT_CHUNK_METHOD: ChunkMethod = 'auto';

/** The reference CLI default (--chunk_max_word_num); its function default is 100. */
export const DEFAULT_MAX_WORDS = 200;
export const DEFAULT_MAX_TURNS = 1;

export interface ChunkOptions {
  /** 'none' (default, like the reference): the whole text is one chunk. 'auto' needs maxSeconds. */
  method?: ChunkMethod;
  /** 'auto': most estimated speaking time per chunk (lib/text/speaking-time.ts). */
  maxSeconds?: number;
  /** 'word': most words per chunk (CJK words as the segmenter finds them). */
  maxWords?: number;
  /** 'speaker': most utterances (speaker turns) per chunk. */
  maxTurns?: number;
}

/** Split a (normalized) transcript into the chunks generated one after another. */
export function chunkText(text: string, options: ChunkOptions = {}): string[] {
  const { method, maxWords, maxTurns, maxSeconds } = validateChunkOptions(options);
  switch (method) {
    case 'auto':
      return chunkToFit(text, maxSeconds);
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
  const maxSeconds = options.maxSeconds ?? Number.NaN;
  if (method === 'auto' && !(maxSeconds > 0)) {
    throw new HiggsError('E_INPUT', `chunk method 'auto' needs maxSeconds > 0, got ${String(options.maxSeconds)}`);
  }
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
  return { method, maxWords, maxTurns, maxSeconds };
}

// ---------------------------------------------------------------------------------------------
// 'speaker': one utterance per speaker tag, grouped maxTurns at a time.

function chunkBySpeaker(text: string, maxTurns: number): string[] {
  const utterances = speakerTurns(text);
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
    const starts = wordStarts(paragraph);
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
