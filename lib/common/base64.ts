/**
 * Strict base64 for inline reference audio, in one place: the request schema checks it without
 * decoding (base64Problem, on every request), the voice resolver decodes it once the voice is
 * needed (decodeBase64Strict), and both accept exactly the same strings. Buffer.from(s, 'base64')
 * alone silently skips characters it does not know, so a mangled upload would become different
 * audio instead of an error. Messages give offsets and sizes, never the payload.
 */
import { HiggsError } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

/** Bytes that canonical padded base64 `text` (length a multiple of 4) decodes to. */
export function decodedSize(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/**
 * Why `text` is not strict base64 of at most `maxBytes` bytes (RFC 4648 section 4: A-Z a-z 0-9
 * + /, '=' padding required, no whitespace, no data: prefix, zero unused bits), or undefined when
 * it is. The size is checked before the characters, so an oversized upload costs no scan.
 */
export function base64Problem(text: string, maxBytes: number): string | undefined {
  if (text.length === 0) return 'must not be empty';
  if (text.startsWith('data:')) return 'must be plain base64, without a data: URL prefix';
  if (text.length % 4 !== 0) {
    return `is not valid base64: length ${text.length} is not a multiple of 4 (padding is required)`;
  }
  const size = decodedSize(text);
  if (size > maxBytes) return `decodes to ${size} bytes, more than the ${maxBytes}-byte limit`;
  const bad = text.search(NOT_BASE64);
  if (bad >= 0) return `is not valid base64: invalid character at offset ${bad}`;
  const padding = (text.length / 4) * 3 - size;
  const firstPad = text.indexOf('=');
  if (firstPad >= 0 && firstPad < text.length - padding) {
    return `is not valid base64: '=' at offset ${firstPad} (only allowed as final padding)`;
  }
  if (padding > 0) {
    // The last data character carries 2 (one '=') or 4 (two '=') unused bits, which must be zero,
    // so that one audio file has one encoding.
    const last = ALPHABET.indexOf(text.charAt(text.length - 1 - padding));
    if ((last & (padding === 1 ? 0b11 : 0b1111)) !== 0) return 'is not valid base64: non-canonical padding';
  }
  return undefined;
}

/**
 * Decodes what base64Problem accepts; the size is checked before anything is decoded.
 * @throws HiggsError E_INPUT naming `label` and the problem.
 */
export function decodeBase64Strict(text: unknown, maxBytes: number, label = 'inline audio'): Buffer {
  if (typeof text !== 'string') throw new HiggsError('E_INPUT', `${label} must be a base64 string`);
  const problem = base64Problem(text, maxBytes);
  if (problem) throw new HiggsError('E_INPUT', `${label} ${problem}`);
  return Buffer.from(text, 'base64');
}
