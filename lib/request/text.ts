/**
 * Text fields of a request: trimmed, bounded in characters, and (for text that goes into the
 * system scene) cleaned of control tokens. Each helper is a zod schema so that its failures
 * carry the field path like any other issue.
 */
import * as z from 'zod';

/**
 * Number of Unicode code points in `text`, or `limit + 1` as soon as it is known to exceed
 * `limit` (a string of many megabytes is not walked to the end).
 */
export function countChars(text: string, limit: number): number {
  // A string with more than 2 * limit UTF-16 units has more than limit code points.
  if (text.length > 2 * limit) return limit + 1;
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
    if (count > limit) return count;
  }
  return count;
}

/** Special-token syntax such as <|eot_id|> or <|scene_desc_end|>. */
const CONTROL_TOKEN = /<\|[^<>|]*\|>/g;
/** ASCII control characters except tab and newline (CR goes: CRLF becomes LF). */
const CONTROL_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F]/g;

/**
 * `text` without ASCII control characters (tab and newline kept) and without <|...|> tokens.
 * Repeats until stable because a removal can join two halves into a new token
 * ("<|eot<|x|>_id|>"); each pass removes at least 4 characters, so it ends.
 */
export function stripControlTokens(text: string): string {
  let current = text.replace(CONTROL_CHARS, '');
  for (;;) {
    const next = current.replace(CONTROL_TOKEN, '');
    if (next === current) return current;
    current = next;
  }
}

export interface TextRule {
  /** Fewest characters after trimming (0: may be empty). */
  min: number;
  /** Most characters (after trimming, or as sent when `clean` is set). */
  max: number;
  /** Also strip control tokens (text placed in the system scene). */
  clean?: boolean;
}

/**
 * A string schema whose output is the trimmed text, bounded in characters. With `clean`, the
 * bound applies to the text as sent (so the cleaning work is bounded too), then control tokens
 * are stripped; text that is empty after cleaning becomes undefined (no scene) when min is 0.
 */
export function boundedText(rule: TextRule & { min: 0 }): z.ZodType<string | undefined, string>;
export function boundedText(rule: TextRule): z.ZodType<string, string>;
export function boundedText(rule: TextRule): z.ZodType<string | undefined, string> {
  return z.string().transform((value, ctx) => {
    const trimmed = value.trim();
    const length = countChars(rule.clean ? value : trimmed, rule.max);
    if (length > rule.max) {
      // The exact count only while it is cheap; a huge string is not walked to the end.
      const measured = rule.clean ? value : trimmed;
      const got = measured.length <= 16 * rule.max ? ` (got ${countChars(measured, Infinity)})` : '';
      ctx.issues.push({ code: 'custom', message: `must be at most ${rule.max} characters${got}`, input: value });
      return z.NEVER;
    }
    const text = rule.clean ? stripControlTokens(trimmed).trim() : trimmed;
    if (countChars(text, rule.min) < rule.min) {
      const why = trimmed === '' ? 'must not be empty' : 'has nothing left after removing control tokens';
      ctx.issues.push({ code: 'custom', message: why, input: value });
      return z.NEVER;
    }
    return text === '' ? undefined : text;
  });
}
