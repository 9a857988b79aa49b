/**
 * Cuts a streamed WAV (its header, then PCM16 windows as the codec decodes them) into the parts a
 * streamed job delivers: the first part leaves with the first decoded window, so a listener hears
 * audio as early as the engine has it; later parts carry `partMs` of audio each, so they arrive
 * steadily instead of in one late lump. Boundaries fall on whole samples, and a part is never
 * larger than the header plus one part's audio, far under RunPod's 1 MB job-stream limit.
 */

/** Where a streaming WAV header (lib/audio/wav-stream.ts) keeps its byte rate, and the header's size. */
const BYTE_RATE_OFFSET = 28;
const WAV_HEADER_BYTES = 44;

/** `partMs`: HiggsConfig.streamPartMs (HIGGS_STREAM_PART_MS). */
export async function* streamParts(audio: AsyncIterable<Buffer>, partMs: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  let partBytes = 0; // known once the header arrived
  let first = true;
  const take = (bytes: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = bytes < all.length ? [all.subarray(bytes)] : [];
    size = all.length - Math.min(bytes, all.length);
    return all.subarray(0, bytes);
  };
  for await (const chunk of audio) {
    if (partBytes === 0) {
      if (chunk.length < WAV_HEADER_BYTES) throw new Error('stream: the audio does not start with a WAV header');
      const byteRate = chunk.readUInt32LE(BYTE_RATE_OFFSET);
      // Whole PCM16 samples, at least one.
      partBytes = Math.max(2, 2 * Math.round((byteRate * partMs) / 2000));
    }
    pending.push(chunk);
    size += chunk.length;
    if (first && size > WAV_HEADER_BYTES) {
      first = false;
      yield take(Math.min(size, WAV_HEADER_BYTES + partBytes));
    }
    while (!first && size >= partBytes) yield take(partBytes);
  }
  if (size > 0) yield take(size);
}
