/**
 * The one bound of reference audio, shared by the request schema (inline base64), the voice
 * library (preset files and inline clips) and the decoder (lib/audio/codec.ts): bytes are refused
 * before decoding, seconds while decoding.
 */
export const REFERENCE_AUDIO_LIMITS = { maxBytes: 20 * 1024 * 1024, maxSeconds: 60 } as const;
