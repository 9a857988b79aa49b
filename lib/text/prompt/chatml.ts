// ChatML rendering and tokenization (original `prepare_chatml_sample`,
// docs/model.md#chatml-rendering and docs/model.md#delay-clip): messages -> token ids with every
// audio placeholder expanded to its delayed frames.
import type { AudioCodes } from '../../audio/delay-pattern.js';
import { delayClip } from '../../audio/delay-pattern.js';
import type { PromptClip, RenderedPrompt } from './types.js';
import type { HiggsTokenizer } from '../tokenizer.js';

export type ChatRole = 'system' | 'user' | 'assistant';

/**
 * One piece of a message. Each text part is ONE tokenizer call, like one content item of the
 * original (which also encodes the header prefix on its own). Text parts must hold no
 * special-token strings: specials are explicit parts, so structure never comes from text.
 */
export type ChatPart =
  | { type: 'text'; text: string }
  | { type: 'special'; token: string }
  | { type: 'audio'; codes: AudioCodes };

export interface ChatMessage {
  role: ChatRole;
  parts: ChatPart[];
}

/** Builds a part list; adjacent text is merged, as the original builds each content as one string. */
export class PartsBuilder {
  readonly parts: ChatPart[] = [];
  text(text: string): this {
    if (text === '') return this;
    const last = this.parts[this.parts.length - 1];
    if (last?.type === 'text') last.text += text;
    else this.parts.push({ type: 'text', text });
    return this;
  }
  special(token: string): this {
    this.parts.push({ type: 'special', token });
    return this;
  }
  audio(codes: AudioCodes): this {
    this.parts.push({ type: 'audio', codes });
    return this;
  }
}

/**
 * Renders `messages` and appends the generation prompt
 * `<|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>`.
 * Original examples/generation.py stops after "\n\n" and lets the model sample <|audio_out_bos|>;
 * we append it like the original serve engine (force_audio_gen) and HF do (3.2 recommendation), so
 * generation starts in audio mode deterministically.
 */
export function renderChat(tokenizer: HiggsTokenizer, messages: readonly ChatMessage[], numCodebooks: number): RenderedPrompt {
  const ids: number[] = [];
  const mask: number[] = [];
  const codes: number[] = [];
  const outMask: number[] = [];
  const clips: PromptClip[] = [];
  let text = '';

  const special = (token: string): void => {
    ids.push(tokenizer.tokenId(token));
    mask.push(0);
    text += token;
  };
  const plain = (piece: string): void => {
    if (piece === '') return;
    for (const id of tokenizer.encode(piece)) {
      ids.push(id);
      mask.push(0);
    }
    text += piece;
  };
  const audio = (clip: AudioCodes, role: ChatRole): void => {
    // Assistant audio is audio-out; user/system audio is audio-in (3.2 rule 3). Both expand to one
    // position per delayed frame that keeps the placeholder id. (HF writes
    // <|reserved_special_token_6|> on the last 7 positions; the embeddings are the same.)
    const out = role === 'assistant';
    const placeholder = out ? '<|AUDIO_OUT|>' : '<|AUDIO|>';
    special(out ? '<|audio_out_bos|>' : '<|audio_bos|>');
    const placeholderId = tokenizer.tokenId(placeholder);
    const frames = delayClip(clip, numCodebooks);
    clips.push({ kind: out ? 'out' : 'in', start: ids.length, length: frames.length });
    for (const frame of frames) {
      ids.push(placeholderId);
      mask.push(1);
      codes.push(...frame);
      outMask.push(out ? 1 : 0);
    }
    text += placeholder;
    special('<|audio_eos|>');
  };
  const header = (role: ChatRole): void => {
    special('<|start_header_id|>');
    plain(role);
    special('<|end_header_id|>');
    plain('\n\n');
  };

  messages.forEach((message, i) => {
    if (i === 0) special('<|begin_of_text|>');
    header(message.role);
    for (const part of message.parts) {
      if (part.type === 'text') plain(part.text);
      else if (part.type === 'special') special(part.token);
      else audio(part.codes, message.role);
    }
    // 3.2 rule 4: an assistant turn followed by another assistant turn ends with <|eom_id|>.
    const next = messages[i + 1];
    special(message.role === 'assistant' && next?.role === 'assistant' ? '<|eom_id|>' : '<|eot_id|>');
  });
  if (messages.length === 0) special('<|begin_of_text|>');
  header('assistant');
  special('<|audio_out_bos|>');

  return {
    inputIds: Int32Array.from(ids),
    audioMask: Uint8Array.from(mask),
    audioCodes: Int32Array.from(codes),
    audioOutMask: Uint8Array.from(outMask),
    clips,
    text,
  };
}
