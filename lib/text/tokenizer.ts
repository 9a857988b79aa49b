// The text tokenizer: the model dir's tokenizer.json run by @huggingface/tokenizers (the JS port of
// the same Rust tokenizer the original and transformers use). Text is always encoded without
// bos/eos; special tokens inside a string are matched as single ids (added tokens split first).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { HiggsError } from '../common/errors.js';

/** Special tokens every prompt recipe uses; checked at load so a bad model dir fails early. */
export const REQUIRED_SPECIAL_TOKENS = [
  '<|begin_of_text|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eot_id|>',
  '<|eom_id|>',
  '<|audio_bos|>',
  '<|audio_eos|>',
  '<|audio_out_bos|>',
  '<|AUDIO|>',
  '<|AUDIO_OUT|>',
] as const;

export interface HiggsTokenizer {
  /** Path of the tokenizer.json this was loaded from (used in error messages). */
  readonly source: string;
  /** Every added token's text (the strings the tokenizer matches atomically), longest first. */
  readonly addedTokens: readonly string[];
  /** Token ids of `text`, no bos/eos added; embedded special-token strings become single ids. */
  encode(text: string): number[];
  /** Id of a token (normally a special token); throws E_MODEL_FORMAT if the vocab lacks it. */
  tokenId(token: string): number;
  /** Text of `ids`; special tokens are kept unless skipSpecialTokens. */
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
}

/** Loads `modelDir/tokenizer.json`. Throws HiggsError E_MODEL_FORMAT naming the file on any problem. */
export function loadTokenizer(modelDir: string): HiggsTokenizer {
  const path = join(modelDir, 'tokenizer.json');
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new HiggsError('E_MODEL_FORMAT', `cannot read tokenizer file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new HiggsError('E_MODEL_FORMAT', `tokenizer file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return tokenizerFromJson(json, path);
}

/** Builds the tokenizer from parsed tokenizer.json content; `source` names it in errors. */
export function tokenizerFromJson(json: unknown, source: string): HiggsTokenizer {
  const j = json as { model?: unknown; added_tokens?: unknown } | null;
  if (j === null || typeof j !== 'object' || typeof j.model !== 'object' || !Array.isArray(j.added_tokens)) {
    throw new HiggsError('E_MODEL_FORMAT', `tokenizer file ${source} is not a tokenizers JSON (needs "model" and "added_tokens")`);
  }
  let inner: Tokenizer;
  try {
    inner = new Tokenizer(j, {});
  } catch (cause) {
    throw new HiggsError('E_MODEL_FORMAT', `tokenizer file ${source} could not be loaded: ${(cause as Error).message}`, { cause });
  }
  const tokenizer = wrap(inner, source);
  for (const token of REQUIRED_SPECIAL_TOKENS) checkAtomic(tokenizer, token);
  return tokenizer;
}

/** Throws E_MODEL_FORMAT unless `token` exists and encodes to exactly its own id. */
export function checkAtomic(tokenizer: HiggsTokenizer, token: string): number {
  const id = tokenizer.tokenId(token);
  const ids = tokenizer.encode(token);
  if (ids.length !== 1 || ids[0] !== id) {
    throw new HiggsError('E_MODEL_FORMAT', `tokenizer file ${tokenizer.source}: ${token} is not an atomic special token (encodes to [${ids.join(', ')}])`);
  }
  return id;
}

function wrap(inner: Tokenizer, source: string): HiggsTokenizer {
  // Longest first so that a regex alternation over them never stops at a shorter prefix.
  const addedTokens = [...inner.get_added_tokens_decoder().values()]
    .map((t) => t.content)
    .sort((a, b) => b.length - a.length);
  const ids = new Map<string, number>();
  return {
    source,
    addedTokens,
    encode: (text) => inner.encode(text, { add_special_tokens: false }).ids,
    tokenId(token) {
      let id = ids.get(token);
      if (id === undefined) {
        id = inner.token_to_id(token);
        if (id === undefined) {
          throw new HiggsError('E_MODEL_FORMAT', `tokenizer file ${source} has no token ${token} (is this a Higgs Audio checkpoint?)`);
        }
        ids.set(token, id);
      }
      return id;
    },
    // Exact text, as the Rust tokenizer's decode: no transformers-style space clean-up (" ?" -> "?").
    decode: (list, options) =>
      inner.decode(Array.from(list), { skip_special_tokens: options?.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false }),
  };
}
