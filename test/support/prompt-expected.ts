// Builds expected prompt token ids for test/text-prompt.test.ts straight from the tiny
// tokenizer.json, independently of lib/text: each string item is encoded on its own (special-token
// strings inside it become their single ids, as in the original's per-content encode), and audio
// items expand to one placeholder id per delayed frame (T + 9 for 8 codebooks).
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { tinyTokenizerPath } from '../setup/fixture-paths.js';

export const ID = {
  beginOfText: 128000,
  startHeader: 128006,
  endHeader: 128007,
  eom: 128008,
  eot: 128009,
  audioBos: 128011,
  audioEos: 128012,
  audioOutBos: 128013,
  audioDelay: 128014,
  audio: 128015,
  audioOut: 128016,
  sceneStart: 128018,
  sceneEnd: 128019,
  soundEvent: 128022,
  soundEventEnd: 128023,
  spanStart: 128024,
  spanStartEnd: 128025,
  spanEnd: 128026,
  spanEndEnd: 128027,
} as const;

export type ExpectedItem = string | { audioOut: number } | { audioIn: number };

let tokenizer: Tokenizer | undefined;
export function rawEncode(text: string): number[] {
  tokenizer ??= new Tokenizer(JSON.parse(readFileSync(tinyTokenizerPath, 'utf8')) as object, {});
  return tokenizer.encode(text, { add_special_tokens: false }).ids;
}

/** Expected ids and audio mask; audio items are { audioOut: T } / { audioIn: T } for T raw frames. */
export function expected(...items: ExpectedItem[]): { ids: number[]; mask: number[] } {
  const ids: number[] = [];
  const mask: number[] = [];
  for (const item of items) {
    if (typeof item === 'string') {
      for (const id of rawEncode(item)) {
        ids.push(id);
        mask.push(0);
      }
      continue;
    }
    const out = 'audioOut' in item;
    const frames = out ? item.audioOut : item.audioIn;
    ids.push(out ? ID.audioOutBos : ID.audioBos);
    mask.push(0);
    for (let i = 0; i < frames + 9; i += 1) {
      ids.push(out ? ID.audioOut : ID.audio);
      mask.push(1);
    }
    ids.push(ID.audioEos);
    mask.push(0);
  }
  return { ids, mask };
}

/** "<|start_header_id|>{role}<|end_header_id|>\n\n" (the original encodes it as one unit). */
export const header = (role: string, first = false): string =>
  `${first ? '<|begin_of_text|>' : ''}<|start_header_id|>${role}<|end_header_id|>\n\n`;

/** The generation prompt every rendered prompt ends with. */
export const GENERATION_SUFFIX = '<|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>';

/** Deterministic raw codes [8][T] in 0..1023. */
export function fakeCodes(frames: number, seed = 1): number[][] {
  return Array.from({ length: 8 }, (_, k) => Array.from({ length: frames }, (_, t) => (seed * 131 + k * 97 + t * 31) % 1024));
}
