// Corrupt checkpoints and configs: each load fails with E_MODEL_FORMAT and a message naming the
// file (and tensor), and the same Engine then loads a good checkpoint and serves.
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeEngine } from '../../lib/native/loader.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { mixedPrompt, newEngine, toForwardRequest } from '../support/engine.js';
import { editHeader, readHeader, writeWithHeader } from '../support/safetensors-edit.js';

const GATE = 'model.layers.1.mlp.gate_proj.weight';

interface Corruption {
  name: string;
  corrupt: (dir: string, weights: string) => void;
  /** Every string the error message must contain ({dir} and {weights} are substituted). */
  mentions: string[];
}

const corruptions: Corruption[] = [
  { name: 'truncated below the 8-byte header length', corrupt: (_d, w) => truncateSync(w, 5), mentions: ['{weights}'] },
  {
    name: 'truncated data area',
    corrupt: (_d, w) => truncateSync(w, readFileSync(w).length - 4096),
    mentions: ['{weights}'],
  },
  {
    name: 'header length past the end of the file',
    corrupt: (_d, w) => {
      const bytes = readFileSync(w);
      bytes.writeBigUInt64LE(BigInt(bytes.length + 100), 0);
      writeFileSync(w, bytes);
    },
    mentions: ['{weights}', 'header'],
  },
  {
    name: 'invalid header JSON',
    corrupt: (_d, w) => {
      const { data } = readHeader(w);
      writeWithHeader(w, '{"model.norm.weight": {"dtype": "BF16", "shape": [64], ', data);
    },
    mentions: ['{weights}', 'JSON'],
  },
  {
    name: 'data offsets out of range',
    corrupt: (_d, w) =>
      editHeader(w, (h) => {
        const entry = h[GATE] as { data_offsets: [number, number] };
        entry.data_offsets = [entry.data_offsets[0] + 1e9, entry.data_offsets[1] + 1e9];
      }),
    mentions: ['{weights}', GATE],
  },
  { name: 'missing tensor', corrupt: (_d, w) => editHeader(w, (h) => void delete h[GATE]), mentions: [GATE] },
  {
    name: 'wrong shape',
    corrupt: (_d, w) => editHeader(w, (h) => void ((h[GATE] as { shape: number[] }).shape = [64, 160])),
    mentions: ['{weights}', GATE, '[64, 160]', '[160, 64]'],
  },
  {
    name: 'unsupported dtype',
    corrupt: (_d, w) => editHeader(w, (h) => void ((h[GATE] as { dtype: string }).dtype = 'F8_E4M3')),
    mentions: ['{weights}', GATE, 'F8_E4M3'],
  },
  {
    name: 'integer dtype for a weight',
    corrupt: (_d, w) => editHeader(w, (h) => void ((h[GATE] as { dtype: string }).dtype = 'I16')),
    mentions: ['{weights}', GATE],
  },
  {
    name: 'missing config field',
    corrupt: (d) => {
      const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      delete config.hidden_size;
      writeFileSync(join(d, 'config.json'), JSON.stringify(config));
    },
    mentions: ['config.json', 'hidden_size'],
  },
  {
    name: 'unsupported model feature',
    corrupt: (d) => {
      const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      config.model_type = 'llama';
      writeFileSync(join(d, 'config.json'), JSON.stringify(config));
    },
    mentions: ['config.json', 'llama'],
  },
];

describe('bad checkpoints', () => {
  let engine: NativeEngine;
  let scratch: string;
  beforeAll(() => {
    engine = newEngine();
    scratch = mkdtempSync(join(tmpdir(), 'higgs-bad-'));
  });
  afterAll(async () => {
    await engine.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(corruptions)('$name: E_MODEL_FORMAT naming the file and tensor', async ({ name, corrupt, mentions }) => {
    const dir = join(scratch, name.replace(/\W+/g, '-'));
    cpSync(tinyHfDir, dir, { recursive: true });
    const weights = join(dir, 'model.safetensors');
    corrupt(dir, weights);
    const error = await engine.load(dir).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error, 'the load must fail').not.toBeNull();
    expect(error!.code).toBe('E_MODEL_FORMAT');
    for (const m of mentions) expect(error!.message).toContain(m.replace('{weights}', weights).replace('{dir}', dir));
    expect(engine.info()).toBeNull();
  });

  it('the same engine loads a good checkpoint afterwards and serves', async () => {
    const info = await engine.load(tinyHfDir);
    expect(info.numLayers).toBe(3);
    const out = await engine.forward(toForwardRequest(mixedPrompt(false)));
    expect(out.audioLogits.length).toBe(8 * 1026);
    expect(out.audioLogits.some((v) => v !== 0)).toBe(true);
  });
});
