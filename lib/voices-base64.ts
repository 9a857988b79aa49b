// Strict base64 for inline reference audio. Buffer.from(s, 'base64') silently skips characters
// it does not know, so a mangled upload would become different audio instead of an error.
import { HiggsError } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes standard padded base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding, no
 * whitespace, no data: prefix). The decoded size is checked against `maxBytes` before decoding.
 * @throws HiggsError E_INPUT for an empty, malformed, non-canonical or oversized input.
 */
export function decodeBase64Strict(text: unknown, maxBytes: number, label = 'inline audio'): Buffer {
  if (typeof text !== 'string') throw new HiggsError('E_INPUT', `${label} must be a base64 string`);
  if (text.length === 0) throw new HiggsError('E_INPUT', `${label} is empty`);
  if (text.length % 4 !== 0) {
    throw new HiggsError('E_INPUT', `${label} is not valid base64: length ${text.length} is not a multiple of 4 (padding is required)`);
  }
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const size = (text.length / 4) * 3 - padding;
  if (size > maxBytes) throw new HiggsError('E_INPUT', `${label} is larger than the ${maxBytes}-byte limit (${size} bytes)`);
  if (!BASE64.test(text)) {
    const at = text.search(/[^A-Za-z0-9+/=]/);
    const where = at >= 0 ? `invalid character at offset ${at}` : "'=' is only allowed as final padding";
    throw new HiggsError('E_INPUT', `${label} is not valid base64: ${where}`);
  }
  const bytes = Buffer.from(text, 'base64');
  // Canonical form only: rejects non-zero bits in the padding, so one audio has one encoding.
  if (bytes.length !== size || bytes.toString('base64') !== text) {
    throw new HiggsError('E_INPUT', `${label} is not valid base64: non-canonical padding`);
  }
  return bytes;
}
