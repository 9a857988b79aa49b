/**
 * What an admitted request does before its work (HiggsAudio.generate, decode and stream): its
 * reference audio supplied late (an http(s) ref_audio fetched now, under admission, once), and
 * whether the caller holds its result already (If-None-Match), decided once its hash is made.
 */
import { HiggsError } from '../common/errors.js';
import type { ResultFormat, ValidatedRequest } from '../request/schema.js';
import type { DecodeOutput, RequestOptions } from './request-types.js';
import type { ResultCache } from './result-cache.js';

/** `request` with its ref_audio's audio from options.referenceAudio (called now), or `request` itself without one. */
export async function withReferenceAudio(request: ValidatedRequest, options: Pick<RequestOptions, 'referenceAudio' | 'signal'>): Promise<ValidatedRequest> {
  if (!options.referenceAudio) return request;
  const ref = request.ref_audio;
  if (ref?.kind !== 'inline') throw new HiggsError('E_INTERNAL', 'referenceAudio: the request has no inline ref_audio to fill');
  return { ...request, ref_audio: { ...ref, base64: await options.referenceAudio(options.signal) } };
}

/**
 * Whether the caller holds the result of `hash` (If-None-Match `tags`): they name the hash, or
 * "*" while `results` keeps it (`kept`: a result the cache could hold; never a stream's). The
 * entry is not read, only its size checked.
 */
export async function holdsResult(tags: readonly string[] | undefined, hash: string, results: ResultCache | null, kept: boolean): Promise<boolean> {
  if (!tags || tags.length === 0) return false;
  if (tags.includes(hash)) return true;
  return kept && tags.includes('*') && results !== null && (await results.has(hash));
}

/** The output of a request whose result the caller holds already: notModified, no audio. */
export function notModifiedOutput(hash: string, request: { output_format: ResultFormat; sample_rate: number }, queuedFor: number): DecodeOutput {
  return {
    audio: Buffer.alloc(0),
    format: request.output_format,
    sampleRate: request.sample_rate,
    durationSeconds: 0,
    resultHash: hash,
    cached: false,
    notModified: true,
    timings: { queueSeconds: queuedFor, generateSeconds: 0, decodeSeconds: 0, encodeSeconds: 0, totalSeconds: queuedFor },
  };
}
