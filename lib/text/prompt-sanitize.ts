// Removes special-token strings from caller text (transcripts, scenes, speaker descriptions).
// The tokenizer would turn e.g. "<|eot_id|>" inside a transcript into the real control id, so a
// request could close its turn and inject its own system or assistant turns. Prompt structure is
// built only from literal ids in prompt-messages.ts; user text can never produce a special id.
import type { HiggsTokenizer } from './tokenizer.js';

const patterns = new WeakMap<HiggsTokenizer, RegExp | null>();

function patternFor(tokenizer: HiggsTokenizer): RegExp | null {
  let re = patterns.get(tokenizer);
  if (re === undefined) {
    const escaped = tokenizer.addedTokens.filter((t) => t.length > 0).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // addedTokens is longest first, so the alternation prefers the longest match.
    re = escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : null;
    patterns.set(tokenizer, re);
  }
  return re;
}

/**
 * `text` with every added-token string of the tokenizer removed. Repeats until nothing is left to
 * remove, because a removal can join two halves into a new token ("<|eot<|AUDIO|>_id|>").
 */
export function stripSpecialTokens(tokenizer: HiggsTokenizer, text: string): string {
  const re = patternFor(tokenizer);
  if (re === null) return text;
  let current = text;
  for (;;) {
    const next = current.replace(re, '');
    if (next === current) return current;
    current = next;
  }
}
