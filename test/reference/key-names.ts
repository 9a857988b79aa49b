// Maps checkpoint tensor names of both formats to one canonical (transformers) naming,
// per docs/model.md#weight-names.

export type TensorPart = 'whole' | 'frozen' | 'trainable';

export interface CanonicalKey {
  canonical: string;
  part: TensorPart;
}

// Buffers some checkpoints carry that hold no weights of the model.
const IGNORED = [/(^|\.)rotary_emb\.(inv_freq|original_inv_freq)$/, /(^|\.)audio_codebook_weights$/];

// Partial-freeze training stores some tensors as frozen rows + trainable rows.
const SPLIT = /\.(?:embedding|linear)_(frozen|trainable)\.weight$/;

const ORIGINAL_RENAMES: Array<[RegExp, string]> = [
  [/^audio_codebook_embeddings\.weight$/, 'model.embed_audio_tokens.embed_audio_tokens.weight'],
  [/^audio_decoder_proj\.((?:audio|text)_lm_head\.weight)$/, '$1'],
  [/^(embed_tokens|layers|norm)\./, 'model.$1.'],
];

const CANONICAL = [
  /^model\.embed_tokens\.weight$/,
  /^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|(?:mlp|audio_mlp)\.(?:gate|up|down)_proj|(?:audio_)?(?:input_layernorm|post_attention_layernorm))\.weight$/,
  /^model\.norm\.weight$/,
  /^model\.embed_audio_tokens\.embed_audio_tokens\.weight$/,
  /^(audio|text)_lm_head\.weight$/,
];

/**
 * Canonical name of a checkpoint key, null for keys to ignore. Throws on keys the Higgs
 * model does not have, so a wrong fixture or mapping is loud rather than silently unused.
 */
export function canonicalKey(fileKey: string): CanonicalKey | null {
  if (IGNORED.some((re) => re.test(fileKey))) return null;
  let name = fileKey;
  let part: TensorPart = 'whole';
  const split = SPLIT.exec(name);
  if (split) {
    part = split[1] as TensorPart;
    name = name.slice(0, split.index) + '.weight';
  }
  for (const [pattern, replacement] of ORIGINAL_RENAMES) {
    if (pattern.test(name)) {
      name = name.replace(pattern, replacement);
      break;
    }
  }
  if (!CANONICAL.some((re) => re.test(name))) throw new Error(`unknown checkpoint tensor ${fileKey}`);
  return { canonical: name, part };
}
