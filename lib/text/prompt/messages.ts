// The TTS prompt recipes of the original examples/generation.py (docs/model.md#prompt-recipes
// and docs/model.md#chunk-context): a PromptSpec becomes ChatML messages. Strings here mirror
// the original's exactly.
import { HiggsError } from '../../common/errors.js';
import type { AudioCodes } from '../../audio/delay-pattern.js';
import { clipFrameCount } from '../../audio/delay-pattern.js';
import type { ChatMessage } from './chatml.js';
import { PartsBuilder } from './chatml.js';
import { stripPromptStructure, stripSpecialTokens } from './sanitize.js';
import type { PromptSpec, VoiceReference } from './types.js';
import type { HiggsTokenizer } from '../tokenizer.js';

export const SMART_VOICE_SYSTEM_MESSAGE = 'Generate audio following instruction.';
export const MULTISPEAKER_SYSTEM_MESSAGE = [
  'You are an AI assistant designed to convert text into speech.',
  "If the user's message includes a [SPEAKER*] tag, do not read out the tag and generate speech for the following text, using the specified voice.",
  'If no speaker tag is present, select a suitable voice on your own.',
].join('\n');

const SCENE_START = '<|scene_desc_start|>';
const SCENE_END = '<|scene_desc_end|>';

/**
 * Builds the message list for `spec` (caller text stripped of special tokens, then validated).
 * Spoken text (transcript, voice transcripts, history) keeps its sound-event markup as tokens;
 * scenes and speaker descriptions keep none.
 */
export function buildMessages(tokenizer: HiggsTokenizer, spec: PromptSpec, numCodebooks: number): ChatMessage[] {
  if (spec === null || typeof spec !== 'object') throw new HiggsError('E_INPUT', 'prompt spec must be an object');
  for (const field of ['voices', 'history'] as const) {
    if (spec[field] !== undefined && !Array.isArray(spec[field])) throw new HiggsError('E_INPUT', `${field} must be an array`);
  }
  const clean = (text: string): string => stripSpecialTokens(tokenizer, text);
  const speech = (text: string): string => stripPromptStructure(tokenizer, text);
  const transcript = speech(requireString(spec.transcript, 'transcript'));
  if (transcript.trim() === '') throw new HiggsError('E_INPUT', 'transcript is empty');
  // Original tests `if scene_prompt:` (empty = none); a whitespace-only scene is also none here.
  const sceneText = spec.scene === undefined ? '' : clean(requireString(spec.scene, 'scene'));
  const scene = sceneText.trim() === '' ? undefined : sceneText;
  const voices = spec.voices ?? [];

  let context: ChatMessage[];
  if (voices.length === 0) {
    context = [smartVoiceSystem(transcript, scene, spec.speakerDescriptions, clean)];
  } else {
    voices.forEach((v, i) => checkVoice(v, i, numCodebooks));
    const inSystem = spec.referencePlacement === 'system' || voices.some((v) => v.type === 'profile');
    context = inSystem ? [referenceSystem(voices, scene, clean)] : referenceTurns(voices, scene, speech);
  }

  const history: ChatMessage[] = [];
  (spec.history ?? []).forEach((turn, j) => {
    // Earlier chunks: user text then assistant audio (5, generation_messages). A turn without text
    // puts two assistant turns in a row, which the renderer closes with <|eom_id|> (3.2 rule 4).
    if (turn === null || typeof turn !== 'object') throw new HiggsError('E_INPUT', `history[${j}] must be { transcript?, codes }`);
    const text = turn.transcript === undefined ? '' : speech(requireString(turn.transcript, `history[${j}].transcript`));
    clipOrThrow(turn.codes, numCodebooks, `history[${j}].codes`);
    if (text.trim() !== '') history.push({ role: 'user', parts: new PartsBuilder().text(text).parts });
    history.push({ role: 'assistant', parts: new PartsBuilder().audio(turn.codes).parts });
  });

  return [...context, ...history, { role: 'user', parts: new PartsBuilder().text(transcript).parts }];
}

/** Recipes (a) and (b): no reference voice. */
function smartVoiceSystem(
  transcript: string,
  scene: string | undefined,
  descriptions: PromptSpec['speakerDescriptions'],
  clean: (s: string) => string,
): ChatMessage {
  const b = new PartsBuilder();
  const tags = speakerTags(transcript);
  if (tags.length > 1) {
    const lines = tags.map(({ tag, n }, i) => {
      const custom = descriptions?.[n];
      const text = custom === undefined ? '' : clean(requireString(custom, `speakerDescriptions[${n}]`));
      return `${tag}: ${text.trim() !== '' ? text : i % 2 === 0 ? 'feminine' : 'masculine'}`;
    });
    const body = [...(scene === undefined ? [] : [scene]), lines.join('\n')].join('\n\n');
    b.text(`${MULTISPEAKER_SYSTEM_MESSAGE}\n\n`).special(SCENE_START).text(`\n${body}\n`).special(SCENE_END);
  } else {
    b.text(SMART_VOICE_SYSTEM_MESSAGE);
    if (scene !== undefined) b.text('\n\n').special(SCENE_START).text(`\n${scene}\n`).special(SCENE_END);
  }
  return { role: 'system', parts: b.parts };
}

/**
 * Distinct [SPEAKERn] tags of the transcript in speaker-number order. The original sorts the tag
 * strings, which puts SPEAKER10 before SPEAKER2; numeric order is the evident intent and equal to
 * the original for up to ten speakers.
 */
export function speakerTags(transcript: string): Array<{ tag: string; n: number }> {
  const seen = new Map<string, number>();
  for (const m of transcript.matchAll(/\[(SPEAKER(\d+))\]/g)) seen.set(m[1]!, Number(m[2]));
  return [...seen]
    .map(([tag, n]) => ({ tag, n }))
    .sort((a, b) => a.n - b.n || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

/** Recipe (c): each clip as a user (transcript) / assistant (audio) pair; system only with a scene. */
function referenceTurns(voices: readonly VoiceReference[], scene: string | undefined, speech: (s: string) => string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (scene !== undefined) {
    const b = new PartsBuilder().text(`${SMART_VOICE_SYSTEM_MESSAGE}\n\n`).special(SCENE_START).text(`\n${scene}\n`).special(SCENE_END);
    messages.push({ role: 'system', parts: b.parts });
  }
  voices.forEach((voice, i) => {
    if (voice.type !== 'clip') return; // unreachable: profiles force the system form
    const text = speech(requireString(voice.transcript ?? '', `voices[${i}].transcript`));
    if (text.trim() === '') throw new HiggsError('E_INPUT', `voices[${i}].transcript is empty (needed when the reference goes into conversation turns)`);
    const prefixed = voices.length > 1 ? `[SPEAKER${i}] ${text}` : text;
    messages.push({ role: 'user', parts: new PartsBuilder().text(prefixed).parts });
    messages.push({ role: 'assistant', parts: new PartsBuilder().audio(voice.codes).parts });
  });
  return messages;
}

/**
 * Recipes (d) and (e): "SPEAKERi: <audio>" (an audio-IN clip, <|audio_bos|>) or
 * "SPEAKERi: {profile description}" inside the scene block of the system message. HF writes
 * " <|audio_out_bos|>" for audio in the scene; we keep the original's <|audio_bos|> (3.4 a).
 */
function referenceSystem(voices: readonly VoiceReference[], scene: string | undefined, clean: (s: string) => string): ChatMessage {
  const b = new PartsBuilder().text(`${SMART_VOICE_SYSTEM_MESSAGE}\n\n`).special(SCENE_START).text('\n');
  if (scene !== undefined) b.text(`${scene}\n\n`);
  voices.forEach((voice, i) => {
    b.text(`${i > 0 ? '\n' : ''}SPEAKER${i}: `);
    if (voice.type === 'clip') {
      b.audio(voice.codes); // system role: rendered as <|audio_bos|><|AUDIO|><|audio_eos|>
    } else {
      const text = clean(requireString(voice.description, `voices[${i}].description`));
      if (text.trim() === '') throw new HiggsError('E_INPUT', `voices[${i}].description is empty`);
      b.text(text);
    }
  });
  b.text('\n').special(SCENE_END);
  return { role: 'system', parts: b.parts };
}

function checkVoice(voice: VoiceReference, i: number, numCodebooks: number): void {
  if (voice === null || typeof voice !== 'object' || (voice.type !== 'clip' && voice.type !== 'profile')) {
    throw new HiggsError('E_INPUT', `voices[${i}] must be { type: 'clip', codes } or { type: 'profile', description }`);
  }
  if (voice.type === 'clip') {
    const frames = clipOrThrow(voice.codes, numCodebooks, `voices[${i}].codes`);
    if (frames === 0) throw new HiggsError('E_INPUT', `voices[${i}].codes has no frames`);
  }
}

function clipOrThrow(codes: AudioCodes, numCodebooks: number, field: string): number {
  try {
    return clipFrameCount(codes, numCodebooks);
  } catch (e) {
    if (e instanceof HiggsError) throw new HiggsError('E_INPUT', `${field}: ${e.message}`);
    throw e;
  }
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new HiggsError('E_INPUT', `${field} must be a string`);
  return value;
}
