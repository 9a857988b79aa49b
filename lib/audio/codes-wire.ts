/**
 * Audio codes on the wire: what `output_format: "codes"` returns and what a codes voice or a
 * decode-only request sends. Compact (8 codebooks x 25 frames/s x 16 bits = 3.2 kbit/s before
 * base64) and self-describing: the codec's fingerprint travels with the codes, so codes are never
 * decoded by, or conditioned on, a codec that did not make them.
 */
import { HiggsError } from '../common/errors.js';
import { base64Problem } from '../common/base64.js';
import { AUDIO_CODEBOOK_SIZE, DEFAULT_NUM_CODEBOOKS } from './delay-pattern.js';
import { REFERENCE_AUDIO_LIMITS } from './limits.js';

/** The one layout: codebook-major rows, each frame a little-endian int16. */
export const CODES_LAYOUT = 'int16le';

/** Most frames one codes payload may hold: 40 minutes at 25 frames/s (a 10,000-character request is far less). */
export const MAX_WIRE_FRAMES = 60_000;
/** Most frames of a codes voice: the reference-audio bound (60 s at 25 frames/s). */
export const MAX_VOICE_CODE_FRAMES = REFERENCE_AUDIO_LIMITS.maxSeconds * 25;

/** The JSON form of audio codes. */
export interface CodesWire {
  layout: typeof CODES_LAYOUT;
  codebooks: number;
  frames: number;
  /** codecFingerprint of the codec that made them (lib/audio/codec-id.ts). */
  codec: string;
  /** base64 of codebooks x frames int16 little-endian, codebook-major. */
  base64: string;
}

/** Codes [K][T] (values 0..1023) -> the wire form. */
export function codesToWire(codes: readonly (readonly number[])[], codec: string): CodesWire {
  const frames = codes[0]?.length ?? 0;
  const bytes = Buffer.alloc(codes.length * frames * 2);
  codes.forEach((row, k) => row.forEach((code, t) => bytes.writeInt16LE(code, (k * frames + t) * 2)));
  return { layout: CODES_LAYOUT, codebooks: codes.length, frames, codec, base64: bytes.toString('base64') };
}

/**
 * Why `value` is not a codes payload of at most `maxFrames` frames, or undefined. Checks the
 * fields, the base64 and its length (= codebooks x frames x 2) and every code's range, so what
 * passes decodes without surprises.
 */
export function codesWireProblem(value: unknown, maxFrames: number): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object { layout, codebooks, frames, codec, base64 }';
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((key) => !['layout', 'codebooks', 'frames', 'codec', 'base64'].includes(key));
  if (extra.length) return `unknown field ${JSON.stringify(extra[0])}`;
  if (v.layout !== CODES_LAYOUT) return `layout must be "${CODES_LAYOUT}"`;
  if (v.codebooks !== DEFAULT_NUM_CODEBOOKS) return `codebooks must be ${DEFAULT_NUM_CODEBOOKS}`;
  if (!Number.isSafeInteger(v.frames) || (v.frames as number) < 1 || (v.frames as number) > maxFrames) return `frames must be an integer 1..${maxFrames}`;
  if (typeof v.codec !== 'string' || !/^[0-9a-f]{64}$/.test(v.codec)) return 'codec must be the 64-hex codec fingerprint the codes came with';
  if (typeof v.base64 !== 'string') return 'base64 must be a string';
  const expected = DEFAULT_NUM_CODEBOOKS * (v.frames as number) * 2;
  const problem = base64Problem(v.base64, expected);
  if (problem) return `base64 ${problem}`;
  const bytes = Buffer.from(v.base64, 'base64');
  if (bytes.length !== expected) return `base64 holds ${bytes.length} bytes; ${v.codebooks} codebooks x ${v.frames} frames x 2 is ${expected}`;
  for (let i = 0; i < bytes.length; i += 2) {
    const code = bytes.readInt16LE(i);
    if (code < 0 || code >= AUDIO_CODEBOOK_SIZE) return `code ${i / 2} is ${code}, not in 0..${AUDIO_CODEBOOK_SIZE - 1}`;
  }
  return undefined;
}

/** A payload codesWireProblem accepted -> codes [K][T]. */
export function wireToCodes(wire: CodesWire): number[][] {
  const bytes = Buffer.from(wire.base64, 'base64');
  return Array.from({ length: wire.codebooks }, (_, k) =>
    Array.from({ length: wire.frames }, (_, t) => bytes.readInt16LE((k * wire.frames + t) * 2)),
  );
}

/** E_INPUT unless the codes were made by the loaded codec. */
export function assertSameCodec(wire: Pick<CodesWire, 'codec'>, codecId: string, label: string): void {
  if (wire.codec !== codecId) {
    throw new HiggsError('E_INPUT', `${label}: the codes were made by another codec (fingerprint ${wire.codec.slice(0, 12)}..., this server's is ${codecId.slice(0, 12)}...)`);
  }
}
