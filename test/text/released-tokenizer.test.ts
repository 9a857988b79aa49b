// The released tokenizer_config.json (revision 10840182, test/fixtures/released) against our
// special-token tables: the ids the prompts use (test/support/checkpoint-tokens.ts), the added
// tokens the fixtures give the real vocabulary (scripts/fixtures/tiny-tokenizer.mjs), and the
// tokens every prompt recipe needs (lib/text/tokenizer.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REQUIRED_SPECIAL_TOKENS, loadTokenizer } from '../../lib/text/tokenizer.js';
import { CHECKPOINT_SPECIAL_IDS } from '../support/checkpoint-tokens.js';
import { specialTokenContents } from '../../scripts/fixtures/tiny-tokenizer.mjs';
import { repoRoot, tinyFixtureDir } from '../setup/fixture-paths.js';

interface AddedToken {
  content: string;
  special: boolean;
}

const released = JSON.parse(
  readFileSync(join(repoRoot, 'test', 'fixtures', 'released', 'original', 'tokenizer', 'tokenizer_config.json'), 'utf8'),
) as { added_tokens_decoder: Record<string, AddedToken> };
const releasedById = new Map(Object.entries(released.added_tokens_decoder).map(([id, t]) => [Number(id), t]));

describe('the released tokenizer_config.json', () => {
  it('holds the 256 special tokens 128000..128255', () => {
    expect([...releasedById.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 256 }, (_, i) => 128000 + i));
    for (const token of releasedById.values()) expect(token.special).toBe(true);
  });

  it('ids 128000..128027 are the ones our prompts use', () => {
    for (const [content, id] of Object.entries(CHECKPOINT_SPECIAL_IDS)) {
      expect(releasedById.get(id)?.content, `${id}`).toBe(content);
    }
    for (let id = 128000; id <= 128027; id++) {
      const content = releasedById.get(id)!.content;
      if (CHECKPOINT_SPECIAL_IDS[content] !== undefined) expect(CHECKPOINT_SPECIAL_IDS[content]).toBe(id);
    }
  });

  it('equals the added tokens the real-vocabulary fixtures carry, every one of the 256', () => {
    const ours = specialTokenContents();
    for (const [id, token] of releasedById) expect(ours.get(id), `${id}`).toBe(token.content);
  });

  it('names every token the prompt recipes need, with the id the tokenizer gives it', () => {
    const tokenizer = loadTokenizer(join(tinyFixtureDir, 'released-orig'));
    const byContent = new Map([...releasedById].map(([id, t]) => [t.content, id]));
    for (const token of REQUIRED_SPECIAL_TOKENS) {
      expect(byContent.has(token), token).toBe(true);
      expect(tokenizer.tokenId(token), token).toBe(byContent.get(token));
    }
  });
});
