// Opens a checkpoint directory (one model.safetensors or index-listed shards) and serves
// tensors under canonical names, merging frozen/trainable splits along dim 0.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalKey } from './key-names.js';
import { elementCount, readSafetensorsHeader, readTensorRows, type TensorInfo } from './safetensors.js';

interface CanonicalTensor {
  shape: number[];
  /** Pieces concatenated along dim 0, frozen rows first. */
  parts: TensorInfo[];
}

export interface CheckpointTensors {
  has(name: string): boolean;
  shape(name: string): number[];
  /** The whole tensor, row-major. */
  read(name: string): Float64Array;
  /** One row along dim 0 (for embedding lookups without loading the table). */
  row(name: string, index: number): Float64Array;
}

function shardFiles(dir: string): string[] {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
    return [...new Set(Object.values(index.weight_map))].sort().map((f) => join(dir, f));
  }
  const single = join(dir, 'model.safetensors');
  if (!existsSync(single)) throw new Error(`${dir}: neither model.safetensors nor model.safetensors.index.json`);
  return [single];
}

function collectTensors(dir: string): Map<string, CanonicalTensor> {
  const pieces = new Map<string, { whole?: TensorInfo; frozen?: TensorInfo; trainable?: TensorInfo }>();
  for (const file of shardFiles(dir)) {
    for (const info of readSafetensorsHeader(file).values()) {
      const key = canonicalKey(info.name);
      if (!key) continue;
      const entry = pieces.get(key.canonical) ?? {};
      if (entry[key.part]) throw new Error(`${file}: duplicate tensor ${info.name}`);
      entry[key.part] = info;
      pieces.set(key.canonical, entry);
    }
  }
  const tensors = new Map<string, CanonicalTensor>();
  for (const [name, { whole, frozen, trainable }] of pieces) {
    if (whole && !frozen && !trainable) {
      tensors.set(name, { shape: whole.shape, parts: [whole] });
    } else if (!whole && frozen && trainable) {
      const tail = frozen.shape.slice(1).join(',');
      if (tail !== trainable.shape.slice(1).join(',')) throw new Error(`${dir}: split parts of ${name} disagree on shape`);
      const rows = (frozen.shape[0] as number) + (trainable.shape[0] as number);
      tensors.set(name, { shape: [rows, ...frozen.shape.slice(1)], parts: [frozen, trainable] });
    } else {
      throw new Error(`${dir}: tensor ${name} must be stored whole or as both frozen and trainable parts`);
    }
  }
  return tensors;
}

export function openCheckpoint(dir: string): CheckpointTensors {
  const tensors = collectTensors(dir);
  const get = (name: string): CanonicalTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${dir}: missing tensor ${name}`);
    return t;
  };
  return {
    has: (name) => tensors.has(name),
    shape: (name) => get(name).shape,
    read(name) {
      const t = get(name);
      const out = new Float64Array(elementCount(t.shape));
      let offset = 0;
      for (const part of t.parts) {
        const values = readTensorRows(part);
        out.set(values, offset);
        offset += values.length;
      }
      return out;
    },
    row(name, index) {
      let local = index;
      for (const part of get(name).parts) {
        const rows = part.shape[0] as number;
        if (local < rows) return readTensorRows(part, local, 1);
        local -= rows;
      }
      throw new Error(`${dir}: row ${index} out of range for ${name}`);
    },
  };
}
