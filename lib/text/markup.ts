/**
 * Model markup inside transcript text: the sound-event tokens (added special tokens of the
 * checkpoint's tokenizer, 128022..128027) that normalization writes for tags like [laugh] and
 * that preset voice transcripts contain, and the [SPEAKERn] tags of multi-speaker text. These
 * are content, not prompt structure: they pass through prompt rendering as single tokens,
 * chunking never cuts them, and the speaking-time estimate does not read them as words.
 */

/** The sound-event special tokens: a point event, and the start/end of a span. */
export const SOUND_EVENT_TOKENS: readonly string[] = ['<SE>', '</SE>', '<SE_s>', '</SE_s>', '<SE_e>', '</SE_e>'];

/** One whole sound event, e.g. `<SE>[Laughter]</SE>` or `<SE_s>[Music]</SE_s>`. */
export const SOUND_EVENT_SOURCE = String.raw`<(?<event>SE|SE_s|SE_e)>.*?<\/\k<event>>`;

/** A speaker tag of multi-speaker text. */
export const SPEAKER_TAG_SOURCE = String.raw`\[SPEAKER\d+\]`;

/**
 * A short bracketed cue such as `[humming]` or `[sighs softly]` that normalization does not
 * rewrite: estimated as a sound event, not as words. Longer bracketed text counts as words: up
 * to 32 characters, reading it aloud (about 3 s on the slow side) still fits the time a sound
 * event adds to a frame cap (lib/speech/synthesis.ts), so a cue the model reads out is not cut.
 */
export const BRACKET_TAG_SOURCE = String.raw`\[[^\[\]\n]{1,32}\]`;

/** A control-token-shaped string `<|...|>`. */
export const CONTROL_TOKEN_SOURCE = String.raw`<\|[a-z_]+\|>`;
