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

/** Float samples -> little-endian PCM16, clipped, with the same scaling as the native writer. */
export function pcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i += 1) {
    const v = Math.max(-1, Math.min(1, Number.isNaN(samples[i]!) ? 0 : samples[i]!));
    out.writeInt16LE(Math.min(32767, Math.round(v * 32768)), i * 2);
  }
  return out;
}

/**
 * The sample bytes of a PCM WAV file (its `data` chunk), for raw PCM output. E_INPUT-free by
 * design: the input is this library's own writer's output, so a missing chunk is a bug.
 */
export function wavSampleBytes(wav: Buffer): Buffer {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('wavSampleBytes: not a RIFF/WAVE file');
  }
  for (let at = 12; at + 8 <= wav.length; ) {
    const id = wav.toString('ascii', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'data') return wav.subarray(at + 8, Math.min(wav.length, at + 8 + size));
    at += 8 + size + (size % 2); // chunks are padded to even sizes
  }
  throw new Error('wavSampleBytes: no data chunk');
}
