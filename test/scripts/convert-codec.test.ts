// scripts/convert_codec.py on a real file: a tiny codec in the ORIGINAL release layout
// (scripts/fixtures/original_codec.py, the goldens codec run backwards) converts back to the
// goldens codec, tensor by tensor and through the engine; bad input is refused with exit 1 and a
// message, bad arguments with exit 2; and both released codec configs describe the same codec.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCodes, encodeReferenceAudio } from '../../lib/audio/codec.js';
import type { NativeEngine } from '../../lib/native/loader.js';
import { readSafetensorsHeader, readTensorRows } from '../reference/safetensors.js';
import { repoRoot } from '../setup/fixture-paths.js';
import { newEngine, relativeError } from '../support/engine.js';
import { golden, goldensDir, readGoldens } from '../support/goldens.js';

const python = join(repoRoot, '.venv', 'bin', 'python');
const converter = join(repoRoot, 'scripts', 'convert_codec.py');
const goldenCodec = join(goldensDir, 'codec');
const released = join(repoRoot, 'test', 'fixtures', 'released');
const scratch = mkdtempSync(join(tmpdir(), 'higgs-convert-codec-'));
const original = join(scratch, 'original');
const converted = join(scratch, 'converted');

function run(args: string[]) {
  const out = spawnSync(python, args, { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

const convert = (...args: string[]) => run([converter, ...args]);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

/** A copy of the generated original codec with `edit` applied, for the refusal cases. */
function brokenCopy(name: string, edit: (dir: string) => void): string {
  const dir = join(scratch, name);
  cpSync(original, dir, { recursive: true });
  edit(dir);
  return dir;
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  const made = run([join(repoRoot, 'scripts', 'fixtures', 'original_codec.py'), original]);
  expect(made.status, made.stderr).toBe(0);
});

describe('the tiny original-layout codec converts back to the goldens codec', () => {
  let log = '';
  beforeAll(() => {
    const out = convert('--sizes', join(original, 'sizes.json'), original, converted);
    expect(out.status, out.stderr).toBe(0);
    log = out.stdout;
  });

  it('says what it dropped and what it folded', () => {
    expect(log).toContain('dropped semantic_model.masked_spec_embed: training-only');
    expect(log).toContain('dropped training_blob: not a tensor');
    expect(log).toContain('367 tensors (74 weight-norm folds) match the expected layout');
  });

  it('gives the goldens tensors: bit-exact, folded DAC convs within float32 rounding of the fold', () => {
    const got = readSafetensorsHeader(join(converted, 'model.safetensors'));
    const want = readSafetensorsHeader(join(goldenCodec, 'model.safetensors'));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    let folded = 0;
    for (const [name, info] of want) {
      expect(got.get(name)!.shape, name).toEqual(info.shape);
      const a = readTensorRows(got.get(name)!);
      const b = readTensorRows(info);
      // The generator stored these as weight_g / weight_v (v scaled per channel): g * v / ||v|| is w to a few ulp.
      const isFold = /^acoustic_(en|de)coder\..*\.weight$/.test(name);
      folded += isFold ? 1 : 0;
      for (let i = 0; i < b.length; i += 1) {
        if (isFold ? Math.abs(a[i]! - b[i]!) > 1e-6 * Math.abs(b[i]!) : a[i] !== b[i]) {
          throw new Error(`${name}[${i}]: ${a[i]} != ${b[i]}`);
        }
      }
    }
    expect(folded).toBe(74);
  });

  it('writes a config.json that matches the goldens codec on every field the loader reads', () => {
    expect(loaderFields(readJson(join(converted, 'config.json')))).toEqual(loaderFields(readJson(join(goldenCodec, 'config.json'))));
  });

  describe('through the engine', () => {
    let mine: NativeEngine;
    let theirs: NativeEngine;
    beforeAll(async () => {
      mine = newEngine();
      theirs = newEngine();
      const info = await mine.loadCodec(converted);
      expect(info).toMatchObject({ numQuantizers: 8, samplesPerFrame: 960, sampleRate: 24000, canEncode: true });
      await theirs.loadCodec(goldenCodec);
    });
    afterAll(async () => {
      await Promise.all([mine?.dispose(), theirs?.dispose()]);
    });

    it('decodes the goldens codes to the goldens codec samples', async () => {
      const codes = golden(readGoldens('codec_goldens.safetensors'), 'decode.T25.codes').data as number[];
      const rows = Array.from({ length: 8 }, (_, q) => codes.slice(q * 25, (q + 1) * 25));
      const a = await decodeCodes(mine, rows);
      const b = await decodeCodes(theirs, rows);
      expect(a.length).toBe(25 * 960);
      expect(relativeError(a, b)).toBeLessThan(1e-5);
    });

    it('encodes an audio file (sox, 44.1 kHz) to the codes the goldens codec gives', async () => {
      const file = join(scratch, 'glide.wav');
      execFileSync('sox', ['-n', '-r', '44100', '-c', '1', '-b', '16', file, 'synth', '0.6', 'sine', '150-900', 'vol', '0.5']);
      const wav = readFileSync(file);
      const a = await encodeReferenceAudio(mine, wav);
      expect(a.length).toBe(8);
      expect(a[0]!.length).toBeGreaterThanOrEqual(14);
      expect(a).toEqual(await encodeReferenceAudio(theirs, wav));
    });
  });
});

describe('refusals', () => {
  it('refuses an already-converted directory', () => {
    const out = convert(converted, join(scratch, 'again'));
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/config\.json: already in the transformers format; nothing to convert/);
  });

  it('refuses a model.pth missing a tensor, naming it', () => {
    const dir = brokenCopy('missing-tensor', (d) => {
      const pth = join(d, 'model.pth');
      const script = [
        'import sys, torch',
        's = torch.load(sys.argv[1], weights_only=False)',
        'del s["fc_post2.bias"]',
        'torch.save(s, sys.argv[1])',
      ].join('\n');
      expect(run(['-c', script, pth]).status).toBe(0);
    });
    const out = convert('--sizes', join(dir, 'sizes.json'), dir, join(scratch, 'out-missing'));
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('missing fc2.bias (16,)');
  });

  it('refuses a config with a bad field, naming the field', () => {
    const dir = brokenCopy('bad-config', (d) => {
      const config = readJson(join(d, 'config.json'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...config, ratios: [8, 5, 0, 2, 3] }));
    });
    const out = convert('--sizes', join(dir, 'sizes.json'), dir, join(scratch, 'out-config'));
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/error: .*config\.json: field 'ratios' is missing or invalid/);
  });

  it('refuses bad or missing --sizes: the widths decide the expected layout', () => {
    const bad = join(scratch, 'bad-sizes.json');
    writeFileSync(bad, JSON.stringify({ encoder_hidden: 2, hubert: { hidden_size: 32, num_attention_heads: 3 } }));
    const out = convert('--sizes', bad, original, join(scratch, 'out-sizes'));
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('hidden_size 32 is not divisible by num_attention_heads 3');
    const none = convert(original, join(scratch, 'out-no-sizes'));
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('do not match the expected layout');
  });

  it('exits 2 for bad arguments', () => {
    expect(convert(original).status).toBe(2);
    expect(convert('--no-such-option', original, converted).status).toBe(2);
    expect(convert('--print-config', original, converted).status).toBe(2);
  });
});

/** The fields native/core/codec/codec_config.cc reads. */
const LOADER_FIELDS = {
  top: ['sample_rate', 'semantic_sample_rate', 'downsample_factor', 'codebook_size', 'codebook_dim', 'target_bandwidths',
    'kernel_size', 'unit_kernel_size', 'channel_ratios', 'strides', 'block_dilations'],
  acoustic: ['encoder_hidden_size', 'decoder_hidden_size', 'hidden_size', 'downsampling_ratios', 'upsampling_ratios'],
  semantic: ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'hidden_act', 'conv_dim',
    'conv_kernel', 'conv_stride', 'conv_bias', 'feat_extract_norm', 'feat_extract_activation', 'feat_proj_layer_norm',
    'do_stable_layer_norm', 'num_conv_pos_embeddings', 'num_conv_pos_embedding_groups', 'conv_pos_batch_norm', 'layer_norm_eps'],
};

function loaderFields(config: Record<string, unknown>) {
  const pick = (from: unknown, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (from as Record<string, unknown>)[k]]));
  return {
    top: pick(config, LOADER_FIELDS.top),
    acoustic: pick(config.acoustic_model_config, LOADER_FIELDS.acoustic),
    semantic: pick(config.semantic_model_config, LOADER_FIELDS.semantic),
  };
}

describe('the two released codec layouts', () => {
  it('the original config converts to the transformers one on every field the loader reads (8 quantizers, hop 960)', () => {
    const out = convert('--print-config', join(released, 'original', 'audio_tokenizer'));
    expect(out.status, out.stderr).toBe(0);
    const fromOriginal = loaderFields(JSON.parse(out.stdout) as Record<string, unknown>);
    const transformers = loaderFields(readJson(join(released, 'transformers', 'audio_tokenizer', 'config.json')));
    expect(fromOriginal).toEqual(transformers);
    for (const fields of [fromOriginal, transformers]) {
      // As codec_config.cc derives them (transformers' num_quantizers property).
      const hop = (fields.acoustic.downsampling_ratios as number[]).reduce((a, b) => a * b, 1);
      const frameRate = Math.ceil((fields.top.sample_rate as number) / hop);
      const bits = Math.ceil(Math.log2(fields.top.codebook_size as number));
      const bandwidths = fields.top.target_bandwidths as number[];
      expect(hop).toBe(960);
      expect(Math.floor((1000 * bandwidths.at(-1)!) / (frameRate * bits))).toBe(8);
    }
  });
});
