/**
 * Transcript normalization, as boson-ai examples/generation.py main() does it before chunking:
 * full-width punctuation -> ASCII, parentheses dropped, °F/°C spelled out, sound-event tags
 * rewritten to the <SE> markup the model was trained on, whitespace collapsed per line, empty
 * lines dropped, and a final "." added when the text does not already end a sentence.
 */

/**
 * Full-width (Chinese) punctuation -> ASCII: exactly the table of the reference's
 * normalize_chinese_punctuation. Keys are single characters, so one regex pass equals the
 * reference's sequence of str.replace calls.
 */
export const FULL_WIDTH_PUNCTUATION: ReadonlyMap<string, string> = new Map([
  ['，', ', '], // comma; the reference adds a space, later whitespace collapsing tidies it
  ['。', '.'],
  ['：', ':'],
  ['；', ';'],
  ['？', '?'],
  ['！', '!'],
  ['（', '('], // then removed with the ASCII parentheses
  ['）', ')'],
  ['【', '['],
  ['】', ']'],
  ['《', '<'],
  ['》', '>'],
  ['“', '"'],
  ['”', '"'],
  ['‘', "'"],
  ['’', "'"],
  ['、', ','], // enumeration comma
  ['—', '-'], // em dash
  ['…', '...'],
  ['·', '.'], // middle dot
  ['「', '"'],
  ['」', '"'],
  ['『', '"'],
  ['』', '"'],
]);

/** Sound-event tags -> model markup (<SE> a point event, <SE_s>/<SE_e> the start/end of a span). */
export const SOUND_EVENT_TAGS: ReadonlyArray<readonly [tag: string, markup: string]> = [
  ['[laugh]', '<SE>[Laughter]</SE>'],
  // Deviation: boson-ai's generation.py maps this to <SE>[Humming]</SE>, which pairs badly with
  // the <SE_e> end tag; we emit the span-start form like [music start] and [sing start] do.
  ['[humming start]', '<SE_s>[Humming]</SE_s>'],
  ['[humming end]', '<SE_e>[Humming]</SE_e>'],
  ['[music start]', '<SE_s>[Music]</SE_s>'],
  ['[music end]', '<SE_e>[Music]</SE_e>'],
  ['[music]', '<SE>[Music]</SE>'],
  ['[sing start]', '<SE_s>[Singing]</SE_s>'],
  ['[sing end]', '<SE_e>[Singing]</SE_e>'],
  ['[applause]', '<SE>[Applause]</SE>'],
  ['[cheering]', '<SE>[Cheering]</SE>'],
  ['[cough]', '<SE>[Cough]</SE>'],
];

/**
 * Endings that need no added ".". The reference list is . ! ? , ; " ' </SE_e> </SE>.
 * Deviation: ":" is accepted too, and so are the full-width forms the table above does not map
 * (．＂＇｡), so that text ending in them does not get a second full stop.
 */
export const SENTENCE_ENDINGS: readonly string[] = [
  '.', '!', '?', ',', ';', ':', '"', "'",
  '．', '！', '？', '，', '；', '：', '＂', '＇', '。', '｡',
  '</SE_e>', '</SE>',
];

export interface NormalizeOptions {
  /**
   * Keep paragraph breaks: runs of blank lines become a single "\n\n" instead of being dropped.
   * Default false = the reference, which drops empty lines before chunking and so makes the
   * "\n\n" paragraph split of word chunking dead code when called from its CLI. Set it to let
   * chunkText(..., { method: 'word' }) see paragraphs.
   */
  keepParagraphs?: boolean;
}

const FULL_WIDTH_PATTERN = new RegExp(`[${[...FULL_WIDTH_PUNCTUATION.keys()].join('')}]`, 'gu');

// Python's str.split() whitespace (what the reference collapses): JS \s plus \x1c-\x1f and \x85.
const WHITESPACE_RUN = /[\s\x1c-\x1f\x85]+/gu;

/** Normalize a TTS transcript the way boson-ai's generation.py does (see module comment). */
export function normalizeTranscript(text: string, options: NormalizeOptions = {}): string {
  let result = text.replace(FULL_WIDTH_PATTERN, (mark) => FULL_WIDTH_PUNCTUATION.get(mark) ?? mark);
  // The reference replaces each parenthesis with a space (not nothing) so "a(b)c" stays 3 words.
  result = result.replaceAll('(', ' ').replaceAll(')', ' ');
  result = result.replaceAll('°F', ' degrees Fahrenheit').replaceAll('°C', ' degrees Celsius');
  for (const [tag, markup] of SOUND_EVENT_TAGS) result = result.replaceAll(tag, markup);

  result = collapseLines(result, options.keepParagraphs ?? false);
  // Deviation: blank input stays "" (the reference would send a lone "."); callers reject it.
  if (result === '') return result;
  return SENTENCE_ENDINGS.some((ending) => result.endsWith(ending)) ? result : `${result}.`;
}

/** Collapse whitespace inside each line; drop blank lines, or keep one per paragraph break. */
function collapseLines(text: string, keepParagraphs: boolean): string {
  const lines: string[] = [];
  let pendingBreak = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(WHITESPACE_RUN, ' ').trim();
    if (line === '') {
      pendingBreak = keepParagraphs && lines.length > 0;
      continue;
    }
    if (pendingBreak) lines.push('');
    pendingBreak = false;
    lines.push(line);
  }
  return lines.join('\n');
}
