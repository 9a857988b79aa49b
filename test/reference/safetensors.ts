// Minimal safetensors reader for the reference model: parses the header and reads tensors
// (or row ranges of them) into Float64Array. Positional reads keep huge tables on disk.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type SafetensorsDtype = 'F32' | 'BF16' | 'F16';

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, BF16: 2, F16: 2 };

export interface TensorInfo {
  file: string;
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the first element in the file. */
  byteStart: number;
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function readExactly(fd: number, length: number, position: number, file: string): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw new Error(`${file}: unexpected end of file`);
    done += n;
  }
  return buffer;
}

/** Lists the tensors of one safetensors file, validating the header against the file size. */
export function readSafetensorsHeader(file: string): Map<string, TensorInfo> {
  const fd = openSync(file, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const headerLength = Number(readExactly(fd, 8, 0, file).readBigUInt64LE(0));
    if (headerLength > fileSize - 8) throw new Error(`${file}: header length ${headerLength} exceeds the file`);
    const header = JSON.parse(readExactly(fd, headerLength, 8, file).toString('utf8')) as Record<string, unknown>;
    const dataStart = 8 + headerLength;
    const tensors = new Map<string, TensorInfo>();
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const entry = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
      if (!(entry.dtype in BYTES_PER_ELEMENT)) throw new Error(`${file}: tensor ${name} has unsupported dtype ${entry.dtype}`);
      const dtype = entry.dtype as SafetensorsDtype;
      const [begin, end] = entry.data_offsets;
      if (end - begin !== elementCount(entry.shape) * BYTES_PER_ELEMENT[dtype] || dataStart + end > fileSize) {
        throw new Error(`${file}: tensor ${name} has inconsistent data_offsets`);
      }
      tensors.set(name, { file, name, dtype, shape: entry.shape, byteStart: dataStart + begin });
    }
    return tensors;
  } finally {
    closeSync(fd);
  }
}

function decode(dtype: SafetensorsDtype, bytes: Buffer, out: Float64Array): void {
  const n = out.length;
  if (dtype === 'F32') {
    for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  } else if (dtype === 'BF16') {
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < n; i++) {
      word.setUint32(0, bytes.readUInt16LE(i * 2) << 16);
      out[i] = word.getFloat32(0);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = halfToNumber(bytes.readUInt16LE(i * 2));
  }
}

/** IEEE 754 binary16 to number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Reads rows [rowStart, rowStart+rowCount) along dim 0 (the whole tensor by default). */
export function readTensorRows(info: TensorInfo, rowStart = 0, rowCount = info.shape[0] ?? 1): Float64Array {
  const rows = info.shape.length === 0 ? 1 : (info.shape[0] as number);
  if (rowStart < 0 || rowStart + rowCount > rows) {
    throw new Error(`${info.file}: rows ${rowStart}..${rowStart + rowCount} out of range for tensor ${info.name} [${info.shape}]`);
  }
  const rowElements = elementCount(info.shape.slice(1));
  const bytesPer = BYTES_PER_ELEMENT[info.dtype];
  const out = new Float64Array(rowCount * rowElements);
  const fd = openSync(info.file, 'r');
  try {
    const bytes = readExactly(fd, out.length * bytesPer, info.byteStart + rowStart * rowElements * bytesPer, info.file);
    decode(info.dtype, bytes, out);
  } finally {
    closeSync(fd);
  }
  return out;
}
