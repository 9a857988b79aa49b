/**
 * Where each chunk's audio lies in the output. A chunk's codes start and end at frame boundaries
 * (25 frames a second; the codes of all chunks are decoded as one), so its place in the codec's
 * audio is exact; the output's speed stretches every second alike.
 */
import type { ChunkReport } from './synthesis.js';

/** The chunks with their start and end at `speed` (synthesizeCodes gives them at speed 1). */
export function atSpeed(chunks: ChunkReport[], speed: number): ChunkReport[] {
  if (speed === 1) return chunks;
  return chunks.map((chunk) => ({ ...chunk, startSeconds: chunk.startSeconds / speed, endSeconds: chunk.endSeconds / speed }));
}

/** A chunk's place on the wire (RunPod results, SSE done events): seconds to the microsecond. */
export function chunkSpan(chunk: ChunkReport): { start_seconds: number; end_seconds: number } {
  const round = (seconds: number) => Math.round(seconds * 1e6) / 1e6;
  return { start_seconds: round(chunk.startSeconds), end_seconds: round(chunk.endSeconds) };
}
