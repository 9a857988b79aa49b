// Removes special-token strings from caller text (transcripts, scenes, speaker descriptions).
// The tokenizer would turn e.g. "<|eot_id|>" inside a transcript into the real control id, so a
// request could close its turn and inject its own system or assistant turns. Prompt structure is
// built only from literal ids in prompt-messages.ts; user text can never produce a control id.
// Sound-event markup (<SE>[Laughter]</SE>, lib/text/markup.ts) is content, not structure: what
// normalization writes and preset voice transcripts hold may pass as its single tokens.
import { SOUND_EVENT_TOKENS } from '../markup.js';
import type { HiggsTokenizer } from '../tokenizer.js';

const patterns = new WeakMap<HiggsTokenizer, { all: RegExp | null; structure: RegExp | null }>();

function alternation(tokens: readonly string[]): RegExp | null {
  const escaped = tokens.filter((t) => t.length > 0).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // addedTokens is longest first, so the alternation prefers the longest match.
  return escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : null;
}

function patternsFor(tokenizer: HiggsTokenizer): { all: RegExp | null; structure: RegExp | null } {
  let found = patterns.get(tokenizer);
  if (found === undefined) {
    found = {
      all: alternation(tokenizer.addedTokens),
      structure: alternation(tokenizer.addedTokens.filter((t) => !SOUND_EVENT_TOKENS.includes(t))),
    };
    patterns.set(tokenizer, found);
  }
  return found;
}

/**
 * Removes until nothing is left to remove, because a removal can join two halves into a new
 * token ("<|eot<|AUDIO|>_id|>").
 */
function stripAll(re: RegExp | null, text: string): string {
  if (re === null) return text;
  let current = text;
  for (;;) {
    const next = current.replace(re, '');
    if (next === current) return current;
    current = next;
  }
}

/** `text` with every added-token string of the tokenizer removed: for text exactly as a caller typed it. */
export function stripSpecialTokens(tokenizer: HiggsTokenizer, text: string): string {
  return stripAll(patternsFor(tokenizer).all, text);
}

/** `text` with every added-token string removed except the sound-event markup tokens. */
export function stripPromptStructure(tokenizer: HiggsTokenizer, text: string): string {
  return stripAll(patternsFor(tokenizer).structure, text);
}
