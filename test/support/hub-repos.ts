/**
 * Tiny Hub repositories for the pull tests, built from real files of the tree: the tiny random
 * model (test/fixtures/tiny/hf), the same model sharded (two shards + model.safetensors.index.json,
 * beside the consolidated copy, as Boson's rewritten repository holds both), the golden codec
 * (test/fixtures/goldens/codec) and a codec in its original release layout (config.json + model.pth).
 * Each also holds files pull must leave on the Hub (README.md, .gitattributes, a subfolder).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { readHeader } from './safetensors-edit.js';

export const codecFixtureDir = join(repoRoot, 'test', 'fixtures', 'goldens', 'codec');

const extras = (): Record<string, Buffer> => ({
  'README.md': Buffer.from('# tiny\n'),
  '.gitattributes': Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n'),
  'figures/overview.png': Buffer.from('not really a png'),
});

const read = (dir: string, file: string): Buffer => readFileSync(join(dir, file));

/** The tiny model as one model.safetensors. */
export function modelRepo(): Record<string, Buffer> {
  return {
    'config.json': read(tinyHfDir, 'config.json'),
    'model.safetensors': read(tinyHfDir, 'model.safetensors'),
    'tokenizer.json': read(tinyHfDir, 'tokenizer.json'),
    ...extras(),
  };
}

/** The tiny model as two shards with their index, plus the consolidated copy pull must skip. */
export function shardedModelRepo(): Record<string, Buffer> {
  const { header, data } = readHeader(join(tinyHfDir, 'model.safetensors'));
  const names = Object.keys(header).filter((name) => name !== '__metadata__');
  const halves = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
  const files: Record<string, Buffer> = {};
  const weightMap: Record<string, string> = {};
  halves.forEach((group, i) => {
    const shardName = `model-0000${i + 1}-of-00002.safetensors`;
    const parts: Buffer[] = [];
    const shardHeader: Record<string, unknown> = {};
    let offset = 0;
    for (const name of group) {
      const entry = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const bytes = data.subarray(entry.data_offsets[0], entry.data_offsets[1]);
      shardHeader[name] = { dtype: entry.dtype, shape: entry.shape, data_offsets: [offset, offset + bytes.length] };
      parts.push(bytes);
      offset += bytes.length;
      weightMap[name] = shardName;
    }
    files[shardName] = safetensors(shardHeader, Buffer.concat(parts));
  });
  return {
    'config.json': read(tinyHfDir, 'config.json'),
    'tokenizer.json': read(tinyHfDir, 'tokenizer.json'),
    'model.safetensors.index.json': Buffer.from(JSON.stringify({ metadata: { total_size: data.length }, weight_map: weightMap }, null, 2)),
    ...files,
    'model.safetensors': read(tinyHfDir, 'model.safetensors'),
    ...extras(),
  };
}

/** The golden codec in the transformers layout the engine loads. */
export function codecRepo(): Record<string, Buffer> {
  return { 'config.json': read(codecFixtureDir, 'config.json'), 'model.safetensors': read(codecFixtureDir, 'model.safetensors'), ...extras() };
}

/** The codec's original release: config.json and a pickled model.pth (bytes stand in for it). */
export function originalCodecRepo(): Record<string, Buffer> {
  return { 'config.json': Buffer.from('{"n_q": 8}\n'), 'model.pth': Buffer.alloc(4096, 7), ...extras() };
}

/** A safetensors file: 8-byte header length, the JSON header padded to 8 bytes, the data. */
function safetensors(header: Record<string, unknown>, data: Buffer): Buffer {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), data]);
}
