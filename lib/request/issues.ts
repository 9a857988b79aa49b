/**
 * Turns zod issues into `field.path: what is wrong` lines for HiggsError E_INPUT. Messages are
 * written here, not taken from zod, so that they read the same in every version and never quote
 * more than a short preview of a value (a request may carry megabytes of base64).
 */
import type * as z from 'zod';
import { HiggsError } from '../common/errors.js';

type Issue = z.core.$ZodIssue;

/** Most lines in one error message; the rest are counted. */
const MAX_LINES = 20;
/** Longest key name or string value quoted in a message. */
const MAX_QUOTE = 40;

/** `text` JSON-quoted, cut to MAX_QUOTE characters. */
function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}...` : text);
}

/** What kind of value `value` is, for "got ..."; numbers, booleans and null are shown as such. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return String(value);
    case 'string':
      return 'a string';
    case 'object':
      return 'an object';
    case 'bigint':
      return 'a bigint';
    default:
      return `a ${typeof value}`;
  }
}

const NOUNS: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  object: 'an object',
  array: 'an array',
  boolean: 'a boolean',
  null: 'null',
};

function noun(expected: string): string {
  return NOUNS[expected] ?? expected;
}

/** `speakers.SPEAKER0.base64`; odd keys are quoted and cut short; the root is `input`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    const text = typeof key === 'symbol' ? '(symbol)' : String(key);
    if (/^[A-Za-z0-9_]{1,64}$/.test(text)) out += out === '' ? text : `.${text}`;
    else out += `[${quote(text)}]`;
  }
  return out === '' ? 'input' : out;
}

/** The value that failed, when zod reported it (parse with reportInput) and it was not a missing key. */
function received(issue: Issue): string {
  const extra = issue as { received?: unknown };
  if (typeof extra.received === 'string') return extra.received;
  return describe(issue.input);
}

function wrongType(issue: Extract<Issue, { code: 'invalid_type' }>, path: readonly PropertyKey[]): string {
  // A field that is absent (undefined, no other `received`) was left out, not mistyped.
  if (path.length > 0 && issue.input === undefined && (issue as { received?: unknown }).received === undefined) {
    return 'is required';
  }
  return `expected ${noun(issue.expected)}, got ${received(issue)}`;
}

function bound(issue: Extract<Issue, { code: 'too_big' | 'too_small' }>): string {
  const limit = String(issue.code === 'too_big' ? issue.maximum : issue.minimum);
  if (issue.origin === 'number' || issue.origin === 'int') {
    const op = issue.code === 'too_big' ? (issue.inclusive ? '<=' : '<') : issue.inclusive ? '>=' : '>';
    return `must be ${op} ${limit} (got ${received(issue)})`;
  }
  const what = issue.origin === 'string' ? 'characters' : 'entries';
  return issue.code === 'too_big' ? `must have at most ${limit} ${what}` : `must have at least ${limit} ${what}`;
}

/**
 * A union failed in every branch. Branches that rejected the value's type outright are not
 * what the caller meant; if one branch got further, its issues are the ones to show.
 */
function unionLines(issue: Extract<Issue, { code: 'invalid_union' }>, prefix: readonly PropertyKey[]): string[] {
  const typeErrors = (branch: Issue[]) => branch.filter((i) => i.path.length === 0 && i.code === 'invalid_type');
  const closer = issue.errors.filter((branch) => typeErrors(branch).length === 0);
  if (closer.length > 0) {
    const best = closer.reduce((a, b) => (b.length < a.length ? b : a));
    return best.flatMap((i) => issueLines(i, prefix));
  }
  const expected = [...new Set(issue.errors.flatMap((b) => typeErrors(b).map((i) => noun((i as { expected: string }).expected))))];
  return [`${formatPath(prefix)}: expected ${expected.join(' or ')}, got ${received(issue)}`];
}

/** One issue as lines `path: message`; `prefix` is the path of an enclosing union. */
function issueLines(issue: Issue, prefix: readonly PropertyKey[] = []): string[] {
  const path = [...prefix, ...issue.path];
  const at = formatPath(path);
  switch (issue.code) {
    case 'invalid_type':
      return [`${at}: ${wrongType(issue, path)}`];
    case 'too_big':
    case 'too_small':
      return [`${at}: ${bound(issue)}`];
    case 'invalid_value': {
      const options = issue.values.map((v) => (typeof v === 'string' ? quote(v) : String(v))).join(', ');
      const got = typeof issue.input === 'string' ? quote(issue.input) : describe(issue.input);
      return [`${at}: must be one of ${options} (got ${got})`];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${formatPath([...path, key])}: unknown field`);
    case 'invalid_union':
      return unionLines(issue, path);
    case 'custom':
      // Custom issues are raised by this library's own checks, with messages written for users.
      return [`${at}: ${issue.message}`];
    default:
      return [`${at}: is invalid`];
  }
}

/** The lines of an E_INPUT message for `issues`, at most MAX_LINES of them. */
export function formatIssues(issues: readonly Issue[]): string[] {
  const lines = [...new Set(issues.flatMap((issue) => issueLines(issue)))];
  if (lines.length <= MAX_LINES) return lines;
  return [...lines.slice(0, MAX_LINES), `... and ${lines.length - MAX_LINES} more`];
}

/** HiggsError E_INPUT that also carries its issue lines, for servers that return them as a list. */
export class RequestInputError extends HiggsError {
  /** `field.path: what is wrong`, one per issue (at most 20 and a count). */
  readonly issues: readonly string[];
  constructor(what: string, issues: readonly string[], options?: { cause?: unknown }) {
    super('E_INPUT', `${what}: ${issues.join('; ')}`, options);
    this.issues = issues;
  }
}

/**
 * `schema` applied to `input`; RequestInputError (HiggsError E_INPUT) listing every issue when
 * it does not fit. Anything thrown while reading the input (a getter, a proxy) is E_INPUT too.
 * @param what how the message starts, e.g. 'invalid request'.
 */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what = 'invalid request'): T {
  let result: z.ZodSafeParseResult<T>;
  try {
    result = schema.safeParse(input, { reportInput: true });
  } catch (error) {
    throw new RequestInputError(what, ['input: could not be read as JSON data'], { cause: error });
  }
  if (result.success) return result.data;
  throw new RequestInputError(what, formatIssues(result.error.issues));
}
