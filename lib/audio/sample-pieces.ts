/**
 * A stream's samples regrouped into pieces of one length, so that its parts arrive steadily (a
 * RunPod job's stream parts, HTTP chunks, SSE deltas) instead of following the decoder's windows,
 * which range from a frame to ten seconds: the first piece leaves as soon as there is audio, then
 * each holds exactly `pieceSamples`, and the rest leaves at the end, in pieces no longer.
 */
export class SamplePieces {
  private pending: Float32Array[] = [];
  private count = 0;
  private started = false;

  constructor(private readonly pieceSamples: number) {
    if (!Number.isInteger(pieceSamples) || pieceSamples < 1) throw new RangeError(`pieceSamples must be a whole number >= 1 (got ${pieceSamples})`);
  }

  /** Takes `samples`; gives the pieces that are ready. */
  add(samples: Float32Array): Float32Array[] {
    if (samples.length) {
      this.pending.push(samples);
      this.count += samples.length;
    }
    const ready: Float32Array[] = [];
    if (!this.started && this.count > 0) {
      this.started = true;
      ready.push(this.take(Math.min(this.count, this.pieceSamples)));
    }
    while (this.count >= this.pieceSamples) ready.push(this.take(this.pieceSamples));
    return ready;
  }

  /** What is left, in pieces of at most pieceSamples (none when nothing is left). */
  rest(): Float32Array[] {
    const pieces: Float32Array[] = [];
    while (this.count > 0) pieces.push(this.take(Math.min(this.count, this.pieceSamples)));
    return pieces;
  }

  private take(n: number): Float32Array {
    const out = new Float32Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pending[0]!;
      const used = Math.min(head.length, n - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(used);
    }
    this.count -= n;
    return out;
  }
}
