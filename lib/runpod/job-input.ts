/**
 * A RunPod job's `input`: the TTS request (lib/request/schema.ts validates it) plus the keys that
 * belong to the worker, not to the library — `action`, `stream`, `output` and `s3Config`. They
 * are taken off here, checked, and never reach the request schema.
 */
import { HiggsError } from '../common/errors.js';

/** Where a job's audio goes: inline as base64 in the result, or uploaded with a URL in the result. */
export const OUTPUT_TARGETS = ['base64', 's3'] as const;
export type OutputTarget = (typeof OUTPUT_TARGETS)[number];

export interface JobInput {
  /** Everything else: the TTS request, for parseRequest. */
  request: Record<string, unknown>;
  action?: 'health';
  stream: boolean;
  output: OutputTarget;
  /** A per-job bucket given inside `input` (the local API); RunPod puts it beside `input`. */
  s3Config?: unknown;
}

const quoted = (values: readonly string[]): string => values.map((v) => JSON.stringify(v)).join(', ');

/** @throws HiggsError E_INPUT naming the key, for a non-object input or a bad worker key. */
export function splitJobInput(input: unknown): JobInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new HiggsError('E_INPUT', 'input: must be a JSON object');
  }
  const { action, stream, output, s3Config, ...request } = input as Record<string, unknown>;
  if (action !== undefined && action !== 'health') throw new HiggsError('E_INPUT', `action: unknown action (only "health")`);
  if (stream !== undefined && typeof stream !== 'boolean') throw new HiggsError('E_INPUT', 'stream: must be true or false');
  if (output !== undefined && !OUTPUT_TARGETS.includes(output as OutputTarget)) {
    const got = typeof output === 'string' ? JSON.stringify(output.slice(0, 40)) : typeof output;
    throw new HiggsError('E_INPUT', `output: must be one of ${quoted(OUTPUT_TARGETS)} (got ${got})`);
  }
  return { request, action, stream: stream === true, output: (output as OutputTarget | undefined) ?? 'base64', s3Config };
}
