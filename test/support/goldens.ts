// Reads the transformers goldens (test/fixtures/goldens, made by scripts/goldens/make_goldens.py
// on a GPU machine): F32 and I64 tensors of a safetensors file, plus the manifest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../setup/fixture-paths.js';

export const goldensDir = join(repoRoot, 'test', 'fixtures', 'goldens');
export const goldenLmDir = join(goldensDir, 'lm');

export interface GoldenTensor {
  shape: number[];
  /** F32 as Float32Array, I64 as plain numbers (ids and codes fit easily). */
  data: Float32Array | number[];
}

export function readGoldens(file: string): Map<string, GoldenTensor> {
  const bytes = readFileSync(join(goldensDir, file));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const tensors = new Map<string, GoldenTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    const raw = bytes.subarray(base + begin, base + end);
    if (entry.dtype === 'F32') {
      const copy = new Float32Array(raw.length / 4);
      for (let i = 0; i < copy.length; i += 1) copy[i] = raw.readFloatLE(i * 4);
      tensors.set(name, { shape: entry.shape, data: copy });
    } else if (entry.dtype === 'I64') {
      const values: number[] = [];
      for (let i = 0; i < raw.length; i += 8) values.push(Number(raw.readBigInt64LE(i)));
      tensors.set(name, { shape: entry.shape, data: values });
    }
  }
  return tensors;
}

export function golden(tensors: Map<string, GoldenTensor>, name: string): GoldenTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`golden tensor ${name} is missing`);
  return t;
}

export interface GoldenManifest {
  tokens: { tokenizer_sha256: string; prompts: Array<{ name: string; tensor: string; text: string }> };
  versions: Record<string, string>;
}

export function readManifest(): GoldenManifest {
  return JSON.parse(readFileSync(join(goldensDir, 'manifest.json'), 'utf8')) as GoldenManifest;
}
