/**
 * `speak`'s flags for the request's fields, made from the request table (REQUEST_DEFAULTS): each
 * flag's name, value type, bounds, default and help come from there, so the CLI can say
 * everything a request can say and cannot drift from it (test/cli/request-flags.test.ts holds
 * them together). Bounds are checked here to name the flag; the schema checks the whole request.
 */
import { REQUEST_DEFAULTS } from '../request/defaults.js';
import { UsageError } from './usage-error.js';

export type RequestField = keyof typeof REQUEST_DEFAULTS;

/** Fields whose value is not one word on the command line, and the flags that set them. */
export const SHAPED_FIELDS = {
  transcript: '--text TEXT or --file FILE',
  ref_audio: '--voice VOICE, or --ref-audio FILE with --ref-text TEXT',
  speakers: '--speaker N=VOICE (repeated)',
  codes: '--codes FILE',
} as const satisfies Partial<Record<RequestField, string>>;

/** Flag names older than the table: the rest are the field's name with dashes. */
const FLAG_NAMES: Partial<Record<RequestField, string>> = { output_format: 'format', scene_prompt: 'scene' };

type ValueKind = 'number' | 'integer' | 'string';

export interface RequestFlag {
  field: RequestField;
  /** Without the leading dashes, e.g. "top-p". */
  flag: string;
  kind: ValueKind;
}

function kindOf(field: RequestField): ValueKind {
  const type: string | readonly string[] = REQUEST_DEFAULTS[field].type;
  const types: readonly string[] = typeof type === 'string' ? [type] : type;
  if (types.includes('integer')) return 'integer';
  return types.includes('number') ? 'number' : 'string';
}

/** One flag per field that takes one value, in the table's order. */
export const REQUEST_FLAGS: readonly RequestFlag[] = (Object.keys(REQUEST_DEFAULTS) as RequestField[])
  .filter((field) => !Object.hasOwn(SHAPED_FIELDS, field))
  .map((field) => ({ field, flag: FLAG_NAMES[field] ?? field.replaceAll('_', '-'), kind: kindOf(field) }));

/** parseArgs options for the request flags (every value a string, converted by requestFields). */
export function requestFlagOptions(): Record<string, { type: 'string' }> {
  return Object.fromEntries(REQUEST_FLAGS.map(({ flag }) => [flag, { type: 'string' as const }]));
}

/** The request fields the given flags set, converted and bounded by the table; UsageError naming the flag otherwise. */
export function requestFields(values: Record<string, unknown>, command: 'speak'): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const { field, flag, kind } of REQUEST_FLAGS) {
    const text = values[flag];
    // output_format takes aliases and codes beside its formats: the caller reads --format.
    if (typeof text !== 'string' || field === 'output_format') continue;
    fields[field] = kind === 'string' ? oneOf(field, flag, text, command) : parseBounded(field, flag, kind, text, command);
  }
  return fields;
}

function oneOf(field: RequestField, flag: string, text: string, command: 'speak'): string {
  const choices = (REQUEST_DEFAULTS[field] as { enum?: readonly string[] }).enum;
  if (choices && !choices.includes(text)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')} (got ${JSON.stringify(text)})`, command);
  return text;
}

function parseBounded(field: RequestField, flag: string, kind: 'number' | 'integer', text: string, command: 'speak'): number {
  const spec = REQUEST_DEFAULTS[field] as { minimum?: number; maximum?: number; enum?: readonly number[] };
  const value = /^\s*$/.test(text) ? NaN : Number(text);
  const whole = kind === 'integer';
  const range = spec.enum ? `one of ${spec.enum.join(', ')}` : `${whole ? 'a whole number' : 'a number'} from ${spec.minimum} to ${spec.maximum}`;
  const fits = spec.enum ? spec.enum.includes(value) : value >= spec.minimum! && value <= spec.maximum!;
  if (!Number.isFinite(value) || (whole && !Number.isInteger(value)) || !fits) {
    throw new UsageError(`--${flag} must be ${range} (got ${JSON.stringify(text)})`, command);
  }
  return value;
}

/** Help that says what the command line takes where the table's description speaks of JSON. */
const HELP_TEXT: Partial<Record<RequestField, string>> = {
  output_format: 'The file format, or codes (the generated codes as JSON, for --codes later); also pcm_16000 and the like. Default: from --out\'s extension, else wav.',
  generation_chunk_buffer_size: 'Earlier chunks kept as context; unset: as many as the maximum (16).',
};

/** The help lines of the request flags: value, description, bounds and default from the table. */
export function requestFlagHelp(): string {
  return REQUEST_FLAGS.map(({ field, flag, kind }) => {
    const spec = REQUEST_DEFAULTS[field] as { description?: string; minimum?: number; maximum?: number; enum?: readonly unknown[]; default?: unknown };
    const value = kind === 'string' ? (spec.enum ? 'WORD' : 'TEXT') : kind === 'integer' ? 'N' : 'X';
    const bounds = spec.enum ? `${spec.enum.join(', ')}` : spec.minimum !== undefined ? `${spec.minimum} to ${spec.maximum}` : '';
    const fallback = spec.default === undefined || spec.default === null ? '' : `default ${String(spec.default)}`;
    const facts = [bounds, fallback].filter(Boolean).join('; ');
    const about = HELP_TEXT[field] ?? spec.description ?? '';
    const text = [about, facts ? `(${facts})` : ''].filter(Boolean).join(' ');
    return `      --${flag} ${value}\n${wrap(text, 22, 96)}`;
  }).join('\n');
}


function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l).join('\n');
}
