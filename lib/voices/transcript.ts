// Transcript and description text: strict UTF-8, trimmed, bounded.
import { HiggsError } from '../common/errors.js';

// fatal: invalid UTF-8 is an error rather than U+FFFD noise in the prompt; a BOM is dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `bytes` as UTF-8 text; HiggsError E_INPUT if they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, label: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HiggsError('E_INPUT', `${label} is not valid UTF-8`);
  }
}

/**
 * `text` trimmed; HiggsError E_INPUT if it is empty or longer than `maxChars` characters
 * (code points, so that a CJK transcript gets the same budget as an English one).
 */
export function cleanText(text: unknown, maxChars: number, label: string): string {
  if (typeof text !== 'string') throw new HiggsError('E_INPUT', `${label} must be a string`);
  const trimmed = text.trim();
  if (trimmed === '') throw new HiggsError('E_INPUT', `${label} is empty`);
  // Cheap bound first: a string this long in UTF-16 units cannot be short in code points.
  if (trimmed.length > 2 * maxChars || [...trimmed].length > maxChars) {
    throw new HiggsError('E_INPUT', `${label} is longer than ${maxChars} characters`);
  }
  return trimmed;
}
