/**
 * Turns a validated request's ref_audio / speakers into prompt voices: presets and inline clips
 * become codec codes (through the voice library's cache when one is configured), codes voices are
 * taken as they are (once their codec is checked), profiles and speaker descriptions become text
 * descriptions.
 */
import { HiggsError } from '../common/errors.js';
import type { ValidatedRequest } from './schema.js';
import type { RequestVoice, SpeakerVoice } from './voice-schema.js';
import type { PromptSpec, VoiceReference } from '../text/prompt/render.js';
import { decodeBase64Strict } from '../common/base64.js';
import { MAX_INLINE_AUDIO_BYTES } from './defaults.js';
import type { VoiceLibrary } from '../voices/library.js';
import { assertSameCodec, wireToCodes } from '../audio/codes-wire.js';

export type PromptVoices = Pick<PromptSpec, 'voices' | 'speakerDescriptions'>;

/** Encodes reference audio bytes to codes when no voice library (and so no cache) is configured. */
export type InlineEncoder = (audio: Buffer) => Promise<number[][]>;

/** What resolving needs: the voice library (if any), an encoder for inline clips without one, the loaded codec's fingerprint. */
export interface VoiceSources {
  library: VoiceLibrary | null;
  encodeInline: InlineEncoder;
  codecId: string;
}

export async function resolveVoices(request: ValidatedRequest, sources: VoiceSources): Promise<PromptVoices> {
  if (request.ref_audio) return { voices: [await resolveOne(request.ref_audio, sources, 'ref_audio')] };
  const speakers = request.speakers;
  if (!speakers) return {};
  const entries = Object.entries(speakers).map(([n, voice]) => [Number(n), voice] as const);
  // Descriptions only: the smart-voice multi-speaker recipe with the caller's descriptions.
  if (entries.every(([, voice]) => voice.kind === 'description')) {
    return { speakerDescriptions: Object.fromEntries(entries.map(([n, voice]) => [n, (voice as { description: string }).description])) };
  }
  // Voices are positional (voice i is SPEAKERi), so the numbers must run 0..n-1.
  entries.forEach(([n], index) => {
    if (n !== index) throw new HiggsError('E_INPUT', `speakers: with reference voices the speakers must be numbered 0..${entries.length - 1} without gaps`);
  });
  return { voices: await Promise.all(entries.map(([n, voice]) => resolveSpeaker(voice, sources, `speakers.${n}`))) };
}

function resolveSpeaker(voice: SpeakerVoice, sources: VoiceSources, label: string): Promise<VoiceReference> {
  if (voice.kind === 'description') return Promise.resolve({ type: 'profile', description: voice.description });
  return resolveOne(voice, sources, label);
}

async function resolveOne(voice: RequestVoice, { library, encodeInline, codecId }: VoiceSources, label: string): Promise<VoiceReference> {
  if (voice.kind === 'codes') {
    assertSameCodec(voice.codes, codecId, `${label}.codes`);
    return { type: 'clip', codes: wireToCodes(voice.codes), transcript: voice.transcript };
  }
  if (voice.kind === 'inline') {
    if (library) {
      const clip = await library.inline({ base64: voice.base64, transcript: voice.transcript });
      return { type: 'clip', codes: clip.codes, transcript: voice.transcript };
    }
    const codes = await encodeInline(decodeBase64Strict(voice.base64, MAX_INLINE_AUDIO_BYTES, 'ref_audio.base64'));
    return { type: 'clip', codes, transcript: voice.transcript };
  }
  if (!library) throw new HiggsError('E_INPUT', `ref_audio: no voices directory is configured (HIGGS_VOICES_DIR), so voice '${voice.name}' is unknown`);
  return library.reference(voice);
}
