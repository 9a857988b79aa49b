/**
 * A stable id of an LM checkpoint, cheap enough for every load: its small files whole
 * (config.json, tokenizer files) and, of each safetensors file, the size, the header (names,
 * dtypes, shapes, offsets) and the first and last MiB of data. Hashing all 11 GB at each cold
 * start would cost seconds per GB; a change of weights that keeps every tensor's shape and both
 * ends of every file byte for byte is not a real-world case.
 */
import { createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const SMALL_FILES = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json)$/;
const SAMPLE_BYTES = 1 << 20;
/** A safetensors header beyond this is not one (the format caps it at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

async function hashFile(hash: ReturnType<typeof createHash>, path: string, whole: boolean): Promise<void> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    hash.update(`${size}\0`);
    const read = async (offset: number, length: number) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      if (buffer.length) await file.read(buffer, 0, buffer.length, offset);
      hash.update(buffer);
    };
    if (whole) return await read(0, size);
    // safetensors: an 8-byte little-endian header length, the JSON header, then the data.
    const prefix = Buffer.alloc(8);
    await file.read(prefix, 0, 8, 0);
    const header = Number(prefix.readBigUInt64LE(0));
    const headerBytes = Math.min(header, MAX_HEADER_BYTES);
    await read(0, 8 + headerBytes);
    await read(8 + headerBytes, SAMPLE_BYTES);
    await read(Math.max(8 + headerBytes, size - SAMPLE_BYTES), SAMPLE_BYTES);
  } finally {
    await file.close();
  }
}

/** sha256 hex over the checkpoint's identifying bytes (see above); files in name order. */
export async function modelFingerprint(modelDir: string): Promise<string> {
  const files = (await readdir(modelDir)).filter((f) => SMALL_FILES.test(f) || f.endsWith('.safetensors')).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    await hashFile(hash, join(modelDir, file), !file.endsWith('.safetensors'));
  }
  return hash.digest('hex');
}
