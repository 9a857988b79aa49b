// Tiny checkpoints built from the files Boson publishes (scripts/fixtures/released-tiny.mjs): the
// released original config.json of revision 10840182 (its "use_audio_out_self_attention": 0
// included) and the transformers-layout config, widths shrunk, bf16 shards named as released, the
// real Llama-3 tokenizer with the released tokenizer_config.json. Each loads and speaks through the
// library and the CLI, and since both hold the same weights, the same seed gives the same audio.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { repoRoot, tinyFixtureDir } from '../setup/fixture-paths.js';
import { openTinyService, tinyCodecDir } from '../support/tiny-service.js';

const codecDir = tinyCodecDir;
const layouts = {
  original: join(tinyFixtureDir, 'released-orig'),
  transformers: join(tinyFixtureDir, 'released-hf'),
} as const;
const scratch = mkdtempSync(join(tmpdir(), 'higgs-released-'));
const opened: HiggsAudio[] = [];

afterAll(async () => {
  await Promise.all(opened.map((t) => t.dispose()));
});

const open = (modelDir: string, lines: string[]): HiggsAudio => openTinyService(opened, { modelDir, maxQueue: 2 }, lines);

const request = { transcript: 'The sun rises in the east. [laugh] It sets in the west.', seed: 29, max_new_tokens: 60 };

describe('checkpoints in the released layouts', () => {
  const audio: Record<string, Buffer> = {};

  it.each(Object.entries(layouts))('%s layout loads and speaks through the library', async (layout, dir) => {
    const lines: string[] = [];
    const tts = open(dir, lines);
    const out = await tts.generate(request);
    expect(out.audio.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(out.durationSeconds).toBeGreaterThan(0);
    expect(out.chunks.length).toBeGreaterThan(0);
    const loaded = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'load.done');
    expect(loaded, lines.join('\n')).toBeDefined();
    audio[layout] = out.audio;
  });

  it('gives the same audio from both layouts for the same seed (same weights, same RoPE)', () => {
    expect(audio.original).toBeDefined();
    expect(audio.transformers).toBeDefined();
    expect(audio.original!.equals(audio.transformers!)).toBe(true);
  });

  it.each(Object.entries(layouts))('%s layout speaks through the CLI', (layout, dir) => {
    const out = join(scratch, `${layout}.wav`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGGS_')));
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'higgs-audio.js'), 'speak', '--text', request.transcript, '--seed', '29', '--out', out], {
      env: { ...env, HIGGS_MODEL_DIR: dir, HIGGS_CODEC_DIR: codecDir, HIGGS_DEVICE: 'cpu', HIGGS_DTYPE: 'float32', HIGGS_MAX_CONTEXT: '2048' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(out);
    expect(readFileSync(out).subarray(0, 4).toString('ascii')).toBe('RIFF');
  });
});
