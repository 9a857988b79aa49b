// Regrouping a stream's samples into steady pieces (lib/audio/sample-pieces.ts): the first piece
// leaves with the first samples, then every piece has exactly the configured length, and the
// rest comes out at the end in pieces no longer; nothing is lost or reordered.
import { describe, expect, it } from 'vitest';
import { SamplePieces } from '../../lib/audio/sample-pieces.js';

const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('SamplePieces', () => {
  it('sends the first samples at once, then whole pieces, then the rest, in order', () => {
    const pieces = new SamplePieces(100);
    const out: Float32Array[] = [];
    out.push(...pieces.add(ramp(0, 30))); // the first window: out at once, however short
    expect(out.map((p) => p.length)).toEqual([30]);
    out.push(...pieces.add(ramp(30, 90))); // 90 held: less than a piece
    expect(out.length).toBe(1);
    out.push(...pieces.add(ramp(120, 350))); // 440 held: four pieces, 40 left
    out.push(...pieces.add(new Float32Array(0)));
    out.push(...pieces.rest());
    expect(out.map((p) => p.length)).toEqual([30, 100, 100, 100, 100, 40]);
    const all = Float32Array.from(out.flatMap((p) => Array.from(p)));
    expect(all).toEqual(ramp(0, 470));
    expect(pieces.rest()).toEqual([]);
  });

  it('cuts a first window longer than a piece', () => {
    const pieces = new SamplePieces(10);
    expect(pieces.add(ramp(0, 25)).map((p) => p.length)).toEqual([10, 10]);
    expect(pieces.rest().map((p) => p.length)).toEqual([5]);
    expect(() => new SamplePieces(0)).toThrow(RangeError);
  });
});
