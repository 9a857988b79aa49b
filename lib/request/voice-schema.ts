/**
 * The voice fields of a request (ref_audio and speakers), validated and parsed into specs but
 * not resolved: reading presets, profiles and encoding clips is the voice library's job.
 */
import * as z from 'zod';
import { MAX_INLINE_AUDIO_BYTES, MAX_SPEAKER_INDEX, MAX_SPEAKERS } from './defaults.js';
import { base64Problem } from '../common/base64.js';
import { boundedText } from './text.js';
import { parseVoiceSpec, type VoiceSpec } from '../voices/library.js';
import { MAX_VOICE_CODE_FRAMES, codesWireProblem, type CodesWire } from '../audio/codes-wire.js';

/** An inline reference clip, still base64 (strict, size-checked). */
export interface InlineVoiceSpec {
  kind: 'inline';
  base64: string;
  /** What the clip says, trimmed. */
  transcript: string;
}

/** A voice given as codes (what output_format "codes" returned) and their transcript: no encoder runs. */
export interface CodesVoiceSpec {
  kind: 'codes';
  codes: CodesWire;
  transcript: string;
}

/** A voice of ref_audio or of a speaker: a preset, a profile, an inline clip, or codes. */
export type RequestVoice = VoiceSpec | InlineVoiceSpec | CodesVoiceSpec;

/** A speaker: a voice, or only a text description of one (e.g. "feminine, warm, low pitch"). */
export type SpeakerVoice = RequestVoice | { kind: 'description'; description: string };

/** Longest reference transcript or speaker description, in characters (as VoiceLibrary). */
const MAX_VOICE_TEXT = 2000;

/** What a voice name must be, said without quoting the value. */
export const VOICE_NAME_RULE = 'must be a preset name (1 to 64 letters, digits, \'_\' or \'-\') or "profile:NAME"';

const voiceName = z.string().transform((value, ctx): VoiceSpec => {
  try {
    return parseVoiceSpec(value);
  } catch {
    // parseVoiceSpec's message quotes the value; this one does not need to.
    ctx.issues.push({ code: 'custom', message: VOICE_NAME_RULE, input: value });
    return z.NEVER;
  }
});

const base64Audio = z.string().check((payload) => {
  const problem = base64Problem(payload.value, MAX_INLINE_AUDIO_BYTES);
  // `input` is left out on purpose: the payload must never reach a message or a log.
  if (problem) payload.issues.push({ code: 'custom', message: problem, input: undefined });
});

const inlineClip = z
  .strictObject({ base64: base64Audio, transcript: boundedText({ min: 1, max: MAX_VOICE_TEXT }) })
  .transform((clip): InlineVoiceSpec => ({ kind: 'inline', base64: clip.base64, transcript: clip.transcript }));

/** A codes payload (lib/audio/codes-wire.ts) of at most `maxFrames` frames, checked whole. */
export function codesWireSchema(maxFrames: number) {
  return z.unknown().transform((value, ctx): CodesWire => {
    const problem = codesWireProblem(value, maxFrames);
    if (problem === undefined) return value as CodesWire;
    ctx.issues.push({ code: 'custom', message: problem, input: undefined }); // never echo the payload
    return z.NEVER;
  });
}

const codesClip = z
  .strictObject({ codes: codesWireSchema(MAX_VOICE_CODE_FRAMES), transcript: boundedText({ min: 1, max: MAX_VOICE_TEXT }) })
  .transform((clip): CodesVoiceSpec => ({ kind: 'codes', codes: clip.codes, transcript: clip.transcript }));

/** An object: with an own `codes` key a codes voice, otherwise an inline clip (strict either way). */
const clipObject = z.looseObject({}).transform((value, ctx): RequestVoice => {
  const schema: z.ZodType<RequestVoice> = Object.hasOwn(value, 'codes') ? codesClip : inlineClip;
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.issues.push(issue as z.core.$ZodRawIssue);
  return z.NEVER;
});

/** ref_audio: "NAME", "profile:NAME", { base64, transcript } or { codes, transcript }. */
export const voiceSchema = z.union([voiceName, clipObject]);

const description = z
  .strictObject({ description: boundedText({ min: 1, max: MAX_VOICE_TEXT, clean: true }) })
  .transform((d): SpeakerVoice => ({ kind: 'description', description: d.description }));

/** A speakers entry: an object with an own `description` key is a description, anything else a voice. */
function speakerSchema(value: unknown): z.ZodType<SpeakerVoice> {
  const isDescription = typeof value === 'object' && value !== null && Object.hasOwn(value, 'description');
  return isDescription ? description : voiceSchema;
}

const SPEAKER_KEY = /^(?:SPEAKER)?(0|[1-9][0-9]*)$/;

/**
 * speakers: a plain object from "n" or "SPEAKERn" to a speaker. Parsed by hand rather than with
 * z.record, which skips a "__proto__" key silently; here every key is checked and reported.
 * The output is keyed by speaker number, in ascending order.
 */
export const speakersSchema = z.unknown().transform((value, ctx): Record<number, SpeakerVoice> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.issues.push({ code: 'invalid_type', expected: 'object', input: value });
    return z.NEVER;
  }
  const keys = Object.keys(value);
  if (keys.length > MAX_SPEAKERS) {
    ctx.issues.push({ code: 'custom', message: `must have at most ${MAX_SPEAKERS} speakers (got ${keys.length})`, input: undefined });
    return z.NEVER;
  }
  const byIndex = new Map<number, SpeakerVoice>();
  const keyOf = new Map<number, string>();
  let failed = false;
  for (const key of keys) {
    const match = SPEAKER_KEY.exec(key);
    const index = match ? Number(match[1]) : NaN;
    if (!(index <= MAX_SPEAKER_INDEX)) {
      ctx.issues.push({ code: 'custom', message: `speaker keys are "n" or "SPEAKERn" with n = 0..${MAX_SPEAKER_INDEX}`, path: [key], input: undefined });
      failed = true;
      continue;
    }
    const earlier = keyOf.get(index);
    if (earlier !== undefined) {
      ctx.issues.push({ code: 'custom', message: `speaker ${index} is also given as "${earlier}"`, path: [key], input: undefined });
      failed = true;
      continue;
    }
    keyOf.set(index, key);
    const entry = (value as Record<string, unknown>)[key];
    const parsed = speakerSchema(entry).safeParse(entry, { reportInput: true });
    if (!parsed.success) {
      // Nested issues keep their own paths below the key; the formatter words them.
      for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, path: [key, ...issue.path] } as z.core.$ZodRawIssue);
      failed = true;
      continue;
    }
    byIndex.set(index, parsed.data);
  }
  if (failed) return z.NEVER;
  const out: Record<number, SpeakerVoice> = {};
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) out[index] = byIndex.get(index)!;
  return out;
});
