/** PCM16 WAV pieces for streaming: a header with open-ended sizes, then raw sample chunks. */

/** RIFF/WAVE header for mono 16-bit PCM whose length is not known yet (sizes 0xFFFFFFFF). */
export function streamingWavHeader(sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(0xffffffff, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0xffffffff, 40);
  return header;
}

/**
 * Float samples -> little-endian PCM16, clipped, exactly as the native writer (to_pcm16 in
 * native/core/audio/audio_encode.cc): v * 32768 rounded half to even (lrint), saturated.
 */
export function pcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i += 1) {
    const v = Math.max(-1, Math.min(1, Number.isNaN(samples[i]!) ? 0 : samples[i]!));
    const x = v * 32768;
    let r = Math.round(x); // halves go up; lrint sends them to the even neighbour
    if (r - x === 0.5 && r % 2 !== 0) r -= 1;
    out.writeInt16LE(Math.max(-32768, Math.min(32767, r)), i * 2);
  }
  return out;
}
