// Transcript normalization: the boson-ai generation.py rules, one table per rule.
import { describe, expect, it } from 'vitest';
import {
  FULL_WIDTH_PUNCTUATION,
  SOUND_EVENT_TAGS,
  normalizeTranscript,
} from '../../lib/text/normalize.js';

type Row = readonly [input: string, expected: string];

const punctuationRows: Row[] = [
  ['你好，世界', '你好, 世界.'],
  ['结束。', '结束.'],
  ['注意：', '注意:'],
  ['甲；乙', '甲;乙.'],
  ['真的？', '真的?'],
  ['好！', '好!'],
  ['（注）', '注.'],
  ['【重要】', '[重要].'],
  ['《书》', '<书>.'],
  ['“引用”', '"引用"'],
  ['‘引用’', "'引用'"],
  ['苹果、香蕉', '苹果,香蕉.'],
  ['A—B', 'A-B.'],
  ['等等…', '等等...'],
  ['约翰·史密斯', '约翰.史密斯.'],
  ['「引用」', '"引用"'],
  ['『引用』', '"引用"'],
];

const symbolRows: Row[] = [
  ['a(b)c', 'a b c.'],
  ['(aside) text', 'aside text.'],
  ['It is 75°F', 'It is 75 degrees Fahrenheit.'],
  ['20°C today', '20 degrees Celsius today.'],
  ['It is 75 °F', 'It is 75 degrees Fahrenheit.'],
];

const tagRows: Row[] = [
  ['Hi [laugh] there', 'Hi <SE>[Laughter]</SE> there.'],
  ['[humming start] la la', '<SE_s>[Humming]</SE_s> la la.'],
  ['la la [humming end] ok', 'la la <SE_e>[Humming]</SE_e> ok.'],
  ['[music start] intro', '<SE_s>[Music]</SE_s> intro.'],
  ['outro [music end] bye', 'outro <SE_e>[Music]</SE_e> bye.'],
  ['a [music] b', 'a <SE>[Music]</SE> b.'],
  ['[sing start] do re', '<SE_s>[Singing]</SE_s> do re.'],
  ['mi [sing end] fa', 'mi <SE_e>[Singing]</SE_e> fa.'],
  ['Thanks [applause] all', 'Thanks <SE>[Applause]</SE> all.'],
  ['Go [cheering] team', 'Go <SE>[Cheering]</SE> team.'],
  ['Excuse me [cough] sorry', 'Excuse me <SE>[Cough]</SE> sorry.'],
  ['好笑【laugh】', '好笑<SE>[Laughter]</SE>'],
  ['Ha [laugh] [laugh]', 'Ha <SE>[Laughter]</SE> <SE>[Laughter]</SE>'],
  ['Case matters [Laugh]', 'Case matters [Laugh].'],
];

const whitespaceRows: Row[] = [
  ['  a \t b  \n  c   ', 'a b\nc.'],
  ['\u3000全角空格\u3000', '全角空格.'],
  ['a\r\nb', 'a\nb.'],
  ['a\u00a0\u00a0b', 'a b.'],
  ['a\n\n\nb', 'a\nb.'],
  ['\n \n a \n\t\n b \n\n', 'a\nb.'],
];

const endingRows: Row[] = [
  ['Done.', 'Done.'],
  ['Done!', 'Done!'],
  ['Done?', 'Done?'],
  ['Done,', 'Done,'],
  ['Done;', 'Done;'],
  ['Done:', 'Done:'],
  ['He said "done"', 'He said "done"'],
  ["He said 'done'", "He said 'done'"],
  ['Done．', 'Done．'],
  ['Done', 'Done.'],
  ['Done-', 'Done-.'],
  ['Done [laugh]', 'Done <SE>[Laughter]</SE>'],
  ['Done [music end]', 'Done <SE_e>[Music]</SE_e>'],
  ['Done [music start]', 'Done <SE_s>[Music]</SE_s>.'],
  ['Done (really)', 'Done really.'],
];

const speakerRows: Row[] = [
  ['[SPEAKER0] Hello there\n[SPEAKER1] Hi', '[SPEAKER0] Hello there\n[SPEAKER1] Hi.'],
  ['【SPEAKER0】你好！', '[SPEAKER0]你好!'],
  ['<|speaker_id_start|>SPEAKER0<|speaker_id_end|> hi', '<|speaker_id_start|>SPEAKER0<|speaker_id_end|> hi.'],
  ['[SPEAKER12]   spaced    out', '[SPEAKER12] spaced out.'],
];

const blankRows: Row[] = [
  ['', ''],
  ['  \n\t \n', ''],
  ['()', ''],
];

const allRows = [
  ...punctuationRows,
  ...symbolRows,
  ...tagRows,
  ...whitespaceRows,
  ...endingRows,
  ...speakerRows,
  ...blankRows,
];

describe('normalizeTranscript', () => {
  it.each(punctuationRows)('maps full-width punctuation: %j -> %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it.each([...FULL_WIDTH_PUNCTUATION])('leaves no %j behind (-> %j)', (fullWidth, ascii) => {
    const out = normalizeTranscript(`x${fullWidth}y`);
    expect(out).not.toContain(fullWidth);
    if (ascii !== '(' && ascii !== ')') expect(out).toContain(ascii.trim());
  });

  it.each(symbolRows)('parentheses and degrees: %j -> %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it.each(tagRows)('sound-event tags: %j -> %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it('has a row for every sound-event tag', () => {
    for (const [tag, markup] of SOUND_EVENT_TAGS) {
      expect(tagRows.some(([input, out]) => input.includes(tag) && out.includes(markup))).toBe(true);
    }
  });

  it.each(whitespaceRows)('collapses whitespace and drops empty lines: %j -> %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it.each(endingRows)('final punctuation: %j -> %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it.each(speakerRows)('keeps speaker tags: %j -> %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it.each(blankRows)('blank text stays blank: %j', (input, expected) => {
    expect(normalizeTranscript(input)).toBe(expected);
  });

  it('keepParagraphs turns each run of blank lines into one paragraph break', () => {
    const input = '\n\n First  line\nsecond line\n\n \n\t\nNext paragraph\n\n';
    expect(normalizeTranscript(input, { keepParagraphs: true })).toBe(
      'First line\nsecond line\n\nNext paragraph.',
    );
    expect(normalizeTranscript(input)).toBe('First line\nsecond line\nNext paragraph.');
  });

  it.each(allRows)('is idempotent: %j', (input) => {
    for (const keepParagraphs of [false, true]) {
      const once = normalizeTranscript(input, { keepParagraphs });
      expect(normalizeTranscript(once, { keepParagraphs })).toBe(once);
    }
  });

  it('is idempotent on a paragraph text with every rule in play', () => {
    const input = '【SPEAKER0】今天（周一）25°C，[laugh]\n\n\n[SPEAKER1]  Really?  (yes) [music start]';
    for (const keepParagraphs of [false, true]) {
      const once = normalizeTranscript(input, { keepParagraphs });
      expect(normalizeTranscript(once, { keepParagraphs })).toBe(once);
    }
  });
});
