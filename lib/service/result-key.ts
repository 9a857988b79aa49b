/**
 * The result hash: sha256 over everything that decides a result's bytes, so equal hashes mean
 * equal bytes (the engine is deterministic: counter-based sampling, batch-invariant steps) and a
 * result can be named, compared (ETag) and cached. It covers the normalized request with its
 * seed, the voices as resolved (codes and transcripts, so an edited preset is a new hash), the
 * model, codec and engine that ran it, and whether it was streamed (a stream's windows are
 * their own bytes). save_voice, ids and timing do not decide the audio and are left out.
 */
import { createHash } from 'node:crypto';
import type { ModelInfo } from '../native/loader.js';
import type { DecodeRequest, ValidatedRequest } from '../request/schema.js';
import type { PromptVoices } from '../request/resolve-voices.js';
import type { HistoryTurn } from '../text/prompt/render.js';

/** What ran a request: the same for every request of one loaded engine. */
export interface EngineIdentity {
  version: string;
  model: string;
  codec: string;
  device: string;
  dtype: string;
  decode: ModelInfo['decode'];
  batching: ModelInfo['batching'];
  fusedKernels: boolean;
  maxContext: number;
  /** int8 projections give other codes than dense ones. */
  weightFormat: ModelInfo['weightFormat'];
}

export function engineIdentity(version: string, model: string, codec: string, info: ModelInfo): EngineIdentity {
  const { device, dtype, decode, batching, fusedKernels, maxContext, weightFormat } = info;
  return { version, model, codec, device, dtype, decode, batching, fusedKernels, maxContext, weightFormat };
}

/** JSON with object keys sorted at every level, so equal values have one text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  if (ArrayBuffer.isView(value)) return canonical(Array.from(value as unknown as ArrayLike<number>));
  return JSON.stringify(value) ?? 'null';
}

/** The hash of `work` (what was asked, as resolved) on `engine`, as 64 hex digits. */
export function resultKey(engine: EngineIdentity, work: Record<string, unknown>): string {
  return createHash('sha256').update(canonical({ engine, work })).digest('hex');
}

/** A generated request's work: its fields as validated (voices as resolved, seed filled in). */
export function speechWork(
  request: ValidatedRequest,
  seed: number,
  voices: PromptVoices,
  delivery: 'file' | 'stream',
  history: readonly HistoryTurn[] = [],
): Record<string, unknown> {
  const { ref_audio: _ref, speakers: _speakers, save_voice: _save, seed: _seed, ...fields } = request;
  return { kind: 'speech', delivery, fields, seed, voices, ...(history.length ? { history } : {}) };
}

/** A decode-only request's work: its codes and output. */
export function decodeWork(request: DecodeRequest): Record<string, unknown> {
  return { kind: 'decode', ...request };
}
