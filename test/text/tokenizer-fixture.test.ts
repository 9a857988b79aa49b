// Checks the generated tiny tokenizer.json with the real tokenizers.js implementation:
// Llama-3 special ids at their real positions, Higgs renames and additions, byte-level
// round trips, and a model vocab of exactly 128000 entries.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyFixtureDir, tinyTokenizerPath } from '../setup/fixture-paths.js';
import { CHECKPOINT_SPECIAL_IDS } from '../support/checkpoint-tokens.js';

interface TokenizerJson {
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
  model: { type: string; vocab: Record<string, number>; merges: string[] };
}

const EXPECTED_SPECIALS = CHECKPOINT_SPECIAL_IDS;

const ORDINARY_TEXT = [
  'Hello, and welcome to the show.',
  'The quick brown fox jumps over the lazy dog!',
  "They're not here, and I don't think they'll be back.\n\nNew paragraph\twith a tab.",
  'Numbers 12345 and 3.14, symbols #@%&*, accents café naïve, and 日本語 text.',
  '  leading and trailing spaces  ',
];

describe('tiny tokenizer.json', () => {
  let json: TokenizerJson;
  let tokenizer: Tokenizer;
  const encode = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false }).ids;

  beforeAll(() => {
    json = JSON.parse(readFileSync(tinyTokenizerPath, 'utf8')) as TokenizerJson;
    tokenizer = new Tokenizer(json, {});
  });

  it('has a BPE model vocab of exactly ids 0..127999 and a few hundred merges', () => {
    expect(json.model.type).toBe('BPE');
    const ids = Object.values(json.model.vocab).sort((a, b) => a - b);
    expect(ids.length).toBe(128000);
    expect(ids[0]).toBe(0);
    expect(ids[ids.length - 1]).toBe(127999);
    expect(new Set(ids).size).toBe(128000);
    expect(json.model.merges.length).toBeGreaterThanOrEqual(300);
  });

  it('adds 256 special tokens on ids 128000..128255', () => {
    expect(json.added_tokens.map((t) => t.id)).toEqual(Array.from({ length: 256 }, (_, i) => 128000 + i));
    expect(json.added_tokens.every((t) => t.special)).toBe(true);
    expect(new Set(json.added_tokens.map((t) => t.content)).size).toBe(256);
  });

  it('puts Llama-3 and Higgs special tokens at their ids', () => {
    for (const [content, id] of Object.entries(EXPECTED_SPECIALS)) {
      expect(tokenizer.token_to_id(content), content).toBe(id);
      expect(tokenizer.id_to_token(id)).toBe(content);
      expect(encode(content)).toEqual([id]);
    }
  });

  it('encodes specials embedded in text as single ids', () => {
    const ids = encode('Hi<|audio_out_bos|>there');
    expect(ids.filter((id) => id >= 128000)).toEqual([128013]);
    expect(ids.indexOf(128013)).toBeGreaterThan(0);
    const prompt = '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n<|scene_desc_start|>\nquiet room\n<|scene_desc_end|><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>';
    const promptIds = encode(prompt);
    expect(promptIds.filter((id) => id >= 128000)).toEqual([128000, 128006, 128007, 128018, 128019, 128009, 128006, 128007, 128013]);
    expect(tokenizer.decode(promptIds)).toBe(prompt);
  });

  it('round-trips ordinary text through byte-level BPE', () => {
    for (const text of ORDINARY_TEXT) {
      const ids = encode(text);
      expect(ids.every((id) => id < 128000)).toBe(true);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it('tokenizes common English compactly', () => {
    const text = 'Thank you for listening to the news this morning and have a good day.';
    const words = text.split(' ').length;
    expect(encode(text).length).toBeLessThanOrEqual(1.5 * words);
  });

  it('prepends <|begin_of_text|> only when special tokens are requested (like Llama-3)', () => {
    expect(tokenizer.encode('Hello').ids[0]).toBe(128000);
    expect(encode('Hello')[0]).not.toBe(128000);
  });

  it('ships the same tokenizer.json inside both checkpoints', () => {
    const root = readFileSync(tinyTokenizerPath);
    expect(readFileSync(join(tinyFixtureDir, 'hf', 'tokenizer.json')).equals(root)).toBe(true);
    expect(readFileSync(join(tinyFixtureDir, 'orig', 'tokenizer.json')).equals(root)).toBe(true);
  });
});
