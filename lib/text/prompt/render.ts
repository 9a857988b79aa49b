// Prompt rendering for the engine: a PromptSpec (what to say, which voice, earlier chunks) becomes
// token ids, the audio-position mask and the delayed reference codes that the C++ prefill takes.
//
// Semantics are the original boson-ai ones (examples/generation.py + prepare_chatml_sample) where
// they differ from the transformers chat template (docs/model.md#deviations); each choice is
// commented where it is made:
// - audio in the system scene is an audio-IN clip with <|audio_bos|> (prompt-messages.ts);
// - caller text is not trimmed (HF trims), only stripped of special-token strings (prompt-sanitize.ts);
// - every expanded audio position keeps its placeholder id (prompt-chatml.ts);
// - each text content is tokenized on its own, like the original (prompt-chatml.ts);
// - the prompt ends with <|audio_out_bos|> (serve engine / HF; generation.py omits it) (prompt-chatml.ts).
import { DEFAULT_NUM_CODEBOOKS } from '../../audio/delay-pattern.js';
import { renderChat } from './chatml.js';
import { buildMessages } from './messages.js';
import type { PromptOptions, PromptSpec, RenderedPrompt } from './types.js';
import type { HiggsTokenizer } from '../tokenizer.js';

export type { HistoryTurn, PromptClip, PromptOptions, PromptSpec, RenderedPrompt, VoiceReference } from './types.js';
export { MULTISPEAKER_SYSTEM_MESSAGE, SMART_VOICE_SYSTEM_MESSAGE, speakerTags } from './messages.js';
export { stripSpecialTokens } from './sanitize.js';

/**
 * Renders and tokenizes the prompt for one chunk. Throws HiggsError E_INPUT on an empty transcript,
 * a missing reference transcript or description, or bad codes; E_MODEL_FORMAT when the tokenizer
 * lacks a special token the recipe needs (e.g. the scene tokens).
 */
export function renderPrompt(tokenizer: HiggsTokenizer, spec: PromptSpec, options: PromptOptions = {}): RenderedPrompt {
  const numCodebooks = options.numCodebooks ?? DEFAULT_NUM_CODEBOOKS;
  return renderChat(tokenizer, buildMessages(tokenizer, spec, numCodebooks), numCodebooks);
}
