/**
 * save_voice: a request's generated speech kept as a preset. The preset holds the codes the
 * model generated (NAME.codes.json, used as they are: no re-encoding loss), the decoded audio at
 * the codec rate (NAME.wav, for another codec or a listener) and what was said (NAME.txt). What
 * can be checked before the work is (a voices directory, the name free, the directory writable);
 * what can only be known after it (the speech too long for a voice, the name taken meanwhile by
 * another upload or save, a failed write) is reported in the result, which keeps its audio
 * either way: nothing known only after the work throws the work away.
 */
import { HiggsError } from '../common/errors.js';
import { codesToWire, MAX_VOICE_CODE_FRAMES } from '../audio/codes-wire.js';
import { loadNative } from '../native/loader.js';
import { VoiceTakenError, addPreset, presetSlot } from '../voices/presets.js';
import { DEFAULT_MAX_TRANSCRIPT_CHARS } from '../voices/library.js';
import type { ChunkReport } from '../speech/synthesis.js';

/** What became of a save_voice. */
export interface SavedVoice {
  name: string;
  saved: boolean;
  /** Why it was not saved. */
  reason?: string;
}

/**
 * Before the work: E_INPUT without a voices directory, for a taken name or a transcript longer
 * than a voice's; VoicesReadOnlyError (403) for a directory that cannot be written.
 */
export async function checkVoiceSlot(voicesDir: string | null, name: string, transcript: string): Promise<void> {
  if (!voicesDir) throw new HiggsError('E_INPUT', 'save_voice: no voices directory is configured (HIGGS_VOICES_DIR)');
  if ([...transcript].length > DEFAULT_MAX_TRANSCRIPT_CHARS) {
    throw new HiggsError('E_INPUT', `save_voice: a voice's transcript is at most ${DEFAULT_MAX_TRANSCRIPT_CHARS} characters; this one is longer`);
  }
  await presetSlot(voicesDir, name);
}

export interface GeneratedVoice {
  codes: number[][];
  /** The decoded samples at `sampleRate` (the codec's). */
  samples: Float32Array;
  sampleRate: number;
  chunks: readonly ChunkReport[];
  codecId: string;
}

/** After the work: stores the preset, or says why not; never throws (the caller logs a non-save). */
export async function saveGeneratedVoice(voicesDir: string, name: string, voice: GeneratedVoice): Promise<SavedVoice> {
  const frames = voice.codes[0]?.length ?? 0;
  if (frames > MAX_VOICE_CODE_FRAMES) {
    return { name, saved: false, reason: `the speech is ${(frames / 25).toFixed(1)} s; a voice is at most ${MAX_VOICE_CODE_FRAMES / 25} s` };
  }
  if (frames === 0) return { name, saved: false, reason: 'the generation has no audio frames' };
  // What the model was asked to say, chunk by chunk, after normalization.
  const transcript = voice.chunks.map((chunk) => chunk.text).join(' ').trim();
  if ([...transcript].length > DEFAULT_MAX_TRANSCRIPT_CHARS) {
    return { name, saved: false, reason: `the transcript is over the ${DEFAULT_MAX_TRANSCRIPT_CHARS} characters a voice may have` };
  }
  try {
    const wav = (await loadNative().writeAudio(voice.samples, voice.sampleRate, 'wav')).bytes;
    await addPreset(voicesDir, name, wav, transcript, JSON.stringify(codesToWire(voice.codes, voice.codecId)));
    return { name, saved: true };
  } catch (error) {
    if (error instanceof VoiceTakenError) return { name, saved: false, reason: `the name was taken while this request generated (${error.message})` };
    return { name, saved: false, reason: (error as Error)?.message ?? String(error) };
  }
}
