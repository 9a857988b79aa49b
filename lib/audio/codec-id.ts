/** A stable id of a codec's weights, for the voice-code cache (codes depend on the weights). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** sha256 over the codec's config.json and safetensors files (streamed: ~1 s per GB). */
export async function codecFingerprint(codecDir: string): Promise<string> {
  const files = (await readdir(codecDir)).filter((f) => f === 'config.json' || f.endsWith('.safetensors')).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    for await (const chunk of createReadStream(join(codecDir, file))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
