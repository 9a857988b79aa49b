// Rewrites safetensors headers for the bad-checkpoint tests (the data area is left as it is).
import { readFileSync, writeFileSync } from 'node:fs';

export type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;

export function readHeader(file: string): { header: Header; data: Buffer } {
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')), data: bytes.subarray(8 + length) };
}

export function writeWithHeader(file: string, header: Header | string, data: Buffer): void {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([prefix, json, data]));
}

/** Applies `edit` to the parsed header of `file` and writes it back. */
export function editHeader(file: string, edit: (header: Header) => void): void {
  const { header, data } = readHeader(file);
  edit(header);
  writeWithHeader(file, header, data);
}
