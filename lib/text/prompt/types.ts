// Public input and output types of prompt rendering (lib/text/prompt/render.ts).
import type { AudioCodes } from '../../audio/delay-pattern.js';

/** A reference voice. Voice i of PromptSpec.voices is speaker i ("SPEAKERi", "[SPEAKERi]"). */
export type VoiceReference =
  | {
      type: 'clip';
      /** Raw codec codes [8][T] of the reference audio, values 0..1023, T >= 1. */
      codes: AudioCodes;
      /** What the clip says. Required when the clip goes into conversation turns (the default). */
      transcript?: string;
    }
  | {
      type: 'profile';
      /** Text description of the voice (profile.yaml); put in the system scene instead of audio. */
      description: string;
    };

/** One earlier chunk of a long-form request: its text and the audio generated for it. */
export interface HistoryTurn {
  /** The chunk's text as it was sent (a user turn); omitted or empty: audio only. */
  transcript?: string;
  /** Generated codes [8][T] of the chunk, delay reverted and trimmed (bos/eos removed). */
  codes: AudioCodes;
}

/**
 * What to render. The recipe (docs/model.md#prompt-recipes) follows from the fields:
 * - no voices, transcript with fewer than two distinct [SPEAKERn] tags: smart voice;
 * - no voices, two or more tags: smart voice multi-speaker (default speaker descriptions);
 * - clip voices: voice clone, references as user/assistant turn pairs (referencePlacement 'turns');
 * - referencePlacement 'system', or any profile voice: references inside the system scene.
 *
 * Caller text (transcript, scene, reference transcripts, descriptions) is used verbatim, except
 * that special-token strings such as "<|eot_id|>" are removed (they cannot inject prompt structure).
 */
export interface PromptSpec {
  /** Text to speak now (one chunk, already normalized). May contain [SPEAKERn] tags. */
  transcript: string;
  /** Scene description, e.g. "Audio is recorded from a quiet room."; absent or blank: none. */
  scene?: string;
  /** Reference voices, speaker i = voices[i]. Absent or empty: smart voice. */
  voices?: readonly VoiceReference[];
  /** Where clip references go; default 'turns'. A profile voice forces 'system'. */
  referencePlacement?: 'turns' | 'system';
  /**
   * Smart-voice multi-speaker only: description per speaker number n (tag [SPEAKERn]), replacing
   * the default feminine/masculine alternation. Ignored by the other recipes.
   */
  speakerDescriptions?: Readonly<Record<number, string>>;
  /** Earlier chunks of the same request, oldest first; rendered after the voice context turns. */
  history?: readonly HistoryTurn[];
}

export interface PromptOptions {
  /** Codebooks per frame (8 for Higgs Audio V2). */
  numCodebooks?: number;
}

/** Where one audio clip sits in the rendered prompt. */
export interface PromptClip {
  /** 'out': assistant audio (<|AUDIO_OUT|>); 'in': user/system audio (<|AUDIO|>). */
  kind: 'in' | 'out';
  /** Index in inputIds of the clip's first audio position. */
  start: number;
  /** Number of audio positions (delayed frames, T + numCodebooks + 1). */
  length: number;
}

/** A rendered, tokenized prompt ready for the engine's prefill. */
export interface RenderedPrompt {
  /** Token ids, one per position; audio positions hold their placeholder id (128016 or 128015). */
  inputIds: Int32Array;
  /** 1 at audio positions (embedded from audioCodes, audio FFN path), 0 at text positions. */
  audioMask: Uint8Array;
  /** numCodebooks codes per audio position, frame-major, in prompt order, delay-pattern form. */
  audioCodes: Int32Array;
  /** One entry per audio position (row of audioCodes): 1 if it came from an audio-OUT clip. */
  audioOutMask: Uint8Array;
  /** The clips in prompt order. */
  clips: PromptClip[];
  /** The rendered text with ONE placeholder token per clip (for logs; never holds audio data). */
  text: string;
}
