// Shape and range checks for codec codes, applied to encoder output and to every cache file read.

/** The code grid a voice clip must have: numCodebooks rows of equal length, values in [0, codebookSize). */
export interface CodeShape {
  numCodebooks: number;
  codebookSize: number;
}

/**
 * A fresh number[][] copy of `value` if it is a valid [numCodebooks][T] grid with T >= 1 and
 * integer values in [0, codebookSize); otherwise a short reason. Rows may be arrays or typed arrays.
 */
export function checkCodes(value: unknown, shape: CodeShape): number[][] | string {
  if (!Array.isArray(value)) return 'codes are not an array';
  if (value.length !== shape.numCodebooks) return `expected ${shape.numCodebooks} codebooks, got ${value.length}`;
  const rows: number[][] = [];
  let frames = -1;
  for (let k = 0; k < value.length; k++) {
    const row: unknown = value[k];
    if (!Array.isArray(row) && !(ArrayBuffer.isView(row) && !(row instanceof DataView))) return `codebook ${k} is not an array`;
    const items = row as ArrayLike<unknown>;
    if (frames < 0) frames = items.length;
    if (items.length !== frames) return `codebook ${k} has ${items.length} frames, codebook 0 has ${frames}`;
    const out = new Array<number>(items.length);
    for (let t = 0; t < items.length; t++) {
      const v = items[t];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= shape.codebookSize) {
        return `code [${k}][${t}] is not an integer in [0, ${shape.codebookSize})`;
      }
      out[t] = v;
    }
    rows.push(out);
  }
  if (frames < 1) return 'codes have no frames';
  return rows;
}

/** A deep copy, so that callers can never change what the cache holds. */
export function copyCodes(codes: readonly (readonly number[])[]): number[][] {
  return codes.map((row) => row.slice());
}
