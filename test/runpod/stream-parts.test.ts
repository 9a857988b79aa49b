// Cutting a streamed WAV into job parts (lib/runpod/stream-parts.ts): the first part leaves as soon
// as the first window arrives, the rest in parts of exactly the configured audio length on whole
// samples, nothing lost or reordered. The source is a real WAV stream header and PCM, fed by hand.
import { describe, expect, it } from 'vitest';
import { streamParts } from '../../lib/runpod/stream-parts.js';
import { streamingWavHeader } from '../../lib/audio/wav-stream.js';

/** An async source whose chunks arrive only when the test pushes them. */
function manualSource() {
  const queue: (Buffer | null)[] = [];
  let wake: (() => void) | null = null;
  const push = (chunk: Buffer | null) => {
    queue.push(chunk);
    wake?.();
    wake = null;
  };
  async function* source(): AsyncGenerator<Buffer> {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const chunk = queue.shift()!;
      if (chunk === null) return;
      yield chunk;
    }
  }
  return { push, source: source() };
}

const pcm = (bytes: number, fill: number) => Buffer.alloc(bytes, fill);

describe('streamParts', () => {
  it('sends the first window at once, before the source has more', async () => {
    const { push, source } = manualSource();
    const parts = streamParts(source, 500);
    push(streamingWavHeader(24000));
    push(pcm(1920, 1)); // one 40 ms frame of audio
    const first = await parts.next();
    expect(first.done).toBe(false);
    expect(first.value!.length).toBe(44 + 1920);
    // Nothing more is due until half a second of audio has gathered.
    push(pcm(23000, 2));
    let settled = false;
    const second = parts.next().then((r) => ((settled = true), r));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    push(pcm(2000, 3));
    expect((await second).value!.length).toBe(24000);
    push(null);
    expect((await parts.next()).value!.length).toBe(1000);
    expect((await parts.next()).done).toBe(true);
  });

  it('cuts big windows into parts of the configured length, keeping every byte in order', async () => {
    const header = streamingWavHeader(24000);
    const windows = [pcm(480_000, 1), pcm(30, 2), pcm(9_602, 3), pcm(50_000, 4)];
    async function* source() {
      yield header;
      yield* windows;
    }
    const parts: Buffer[] = [];
    for await (const part of streamParts(source(), 250)) parts.push(part);
    const partBytes = 24000 * 2 * 0.25;
    expect(parts[0]!.length).toBe(44 + partBytes);
    for (const part of parts.slice(1, -1)) expect(part.length).toBe(partBytes);
    expect(parts.at(-1)!.length).toBeLessThanOrEqual(partBytes);
    expect(Buffer.concat(parts).equals(Buffer.concat([header, ...windows]))).toBe(true);
    // Whole 16-bit samples in every part after the header.
    for (const part of parts.slice(1)) expect(part.length % 2).toBe(0);
  });

  it('passes a stream without audio through as its header', async () => {
    async function* source() {
      yield streamingWavHeader(16000);
    }
    const parts: Buffer[] = [];
    for await (const part of streamParts(source(), 500)) parts.push(part);
    expect(parts.map((p) => p.length)).toEqual([44]);
  });

  it('refuses a stream that does not start with a WAV header', async () => {
    async function* source() {
      yield Buffer.from('RIFF');
    }
    await expect(streamParts(source(), 500).next()).rejects.toThrow(/WAV header/);
  });
});
