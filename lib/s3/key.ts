/**
 * Object keys and content types for uploaded audio: `${prefix}/${YYYY-MM-DD}/${jobId}.${ext}`.
 * Job ids and job-given prefixes come from outside, so they are cut down to a safe character set
 * (no '/', no '..', bounded length) with a short hash of the original to keep distinct ids apart.
 */
import { createHash } from 'node:crypto';

/** Extension and Content-Type per output format (ogg containers for opus and vorbis, WAVE for G.711, JSON for codes). */
const FORMATS: Record<string, { ext: string; type: string }> = {
  wav: { ext: 'wav', type: 'audio/wav' },
  flac: { ext: 'flac', type: 'audio/flac' },
  mp3: { ext: 'mp3', type: 'audio/mpeg' },
  opus: { ext: 'opus', type: 'audio/ogg' },
  vorbis: { ext: 'ogg', type: 'audio/ogg' },
  ogg: { ext: 'ogg', type: 'audio/ogg' },
  pcm: { ext: 'pcm', type: 'audio/pcm' }, // raw s16le mono, no header
  ulaw: { ext: 'wav', type: 'audio/wav' }, // G.711 in a WAVE container
  alaw: { ext: 'wav', type: 'audio/wav' },
  codes: { ext: 'json', type: 'application/json' }, // output_format "codes" (lib/audio/codes-wire.ts)
};

export function audioFileType(format: string): { ext: string; type: string } {
  return FORMATS[format.toLowerCase()] ?? { ext: 'bin', type: 'application/octet-stream' };
}

const MAX_ID = 96;

/** One path segment: [A-Za-z0-9._-] only, no leading dot, at most MAX_ID characters. */
function cleanSegment(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, MAX_ID);
}

/** A job id as one safe key segment; unchanged when it already is one. */
export function safeJobId(id: string): string {
  const cleaned = cleanSegment(id);
  if (cleaned === id && cleaned.length > 0) return id;
  // Changed ids get a hash suffix so '../a' and '__a' do not land on the same key.
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 10);
  return `${cleaned || 'job'}-${hash}`;
}

/** A key prefix ('a/b/c'): each segment cleaned, empty, '.' and '..' segments dropped. */
export function safePrefix(prefix: string): string {
  return prefix
    .split('/')
    .map(cleanSegment)
    .filter((s) => s.length > 0)
    .join('/');
}

export function objectKey(prefix: string, jobId: string, format: string, now: Date): string {
  const date = now.toISOString().slice(0, 10); // UTC day: one folder per day for lifecycle rules
  const file = `${safeJobId(jobId)}.${audioFileType(format).ext}`;
  const dir = safePrefix(prefix);
  return dir ? `${dir}/${date}/${file}` : `${date}/${file}`;
}
