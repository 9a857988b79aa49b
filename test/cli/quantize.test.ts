// `higgs-audio quantize MODEL_DIR [--to DIR]` run as users run it (node bin/higgs-audio.js) on the
// bundled tiny model: DIR is a complete model directory whose int8 file gives the same codes as
// the in-memory int8 quantization of the source, the same seed; what it refuses, and its flags.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInvocation, UsageError } from '../../lib/cli/args.js';
import { defaultQuantizeDir } from '../../lib/cli/quantize.js';
import { usage } from '../../lib/cli/usage.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';

const bin = join(repoRoot, 'bin', 'higgs-audio.js');
const scratch = mkdtempSync(join(tmpdir(), 'higgs-cli-quantize-'));

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGGS_')));
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: scratch,
    env: { ...clean, HIGGS_CACHE_DIR: join(scratch, 'no-pull-cache'), ...env },
    input: '',
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The codes file of one seeded request with int8 weights from `modelDir`. */
function int8Codes(modelDir: string, name: string): string {
  const out = join(scratch, `${name}.codes.json`);
  const run = cli(['speak', '--text', 'The sun rises in the east.', '--seed', '4', '--max-new-tokens', '40', '--format', 'codes', '--out', out], {
    HIGGS_WEIGHTS: 'int8',
    HIGGS_MODEL_DIR: modelDir,
  });
  expect(run.status, run.stderr).toBe(0);
  return readFileSync(out, 'utf8');
}

describe('flags and help', () => {
  it('takes MODEL_DIR and --to', () => {
    expect(parseInvocation(['quantize', 'model'])).toEqual({ kind: 'quantize', args: { modelDir: 'model' } });
    expect(parseInvocation(['quantize', 'model', '--to', 'out'])).toEqual({ kind: 'quantize', args: { modelDir: 'model', to: 'out' } });
    expect(parseInvocation(['quantize', '--help'])).toEqual({ kind: 'help', command: 'quantize' });
    expect(usage('quantize')).toMatch(/^Usage: higgs-audio quantize MODEL_DIR \[--to DIR\]/);
    expect(usage()).toContain('quantize   Save a model');
    expect(defaultQuantizeDir('/models/higgs/')).toBe('/models/higgs-int8');
  });

  it.each([
    [['quantize'], 'give one MODEL_DIR to quantize'],
    [['quantize', 'a', 'b'], 'give one MODEL_DIR to quantize'],
    [['quantize', 'a', '--to', ' '], '--to needs a directory'],
    [['quantize', 'a', '--bits', '4'], "Unknown option '--bits'"],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseInvocation(argv)).toThrow(UsageError);
    expect(() => parseInvocation(argv)).toThrow(message);
  });
});

describe('quantize', () => {
  const out = join(scratch, 'tiny-int8');

  it('writes a complete model directory whose int8 weights give the in-memory quantization\'s codes', () => {
    const run = cli(['quantize', tinyHfDir, '--to', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${out}\n`);
    expect(run.stderr).toContain('quantizing 100%');
    for (const file of ['config.json', 'tokenizer.json', 'model.int8.safetensors', 'int8-manifest.json']) expect(existsSync(join(out, file)), file).toBe(true);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(out, 'int8-manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'higgs-int8',
      version: 1,
      weights: { file: 'model.int8.safetensors' },
      source: { dir: tinyHfDir, fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/), files: [{ path: 'model.safetensors' }] },
      quantization: { scheme: 'symmetric per output channel', scaleDtype: 'BF16' },
      createdBy: expect.stringMatching(/^higgs-audio /),
    });
    expect(int8Codes(out, 'saved')).toBe(int8Codes(tinyHfDir, 'in-memory'));
  });

  it('refuses dense weights of a quantized directory, a stale manifest, and quantizing it again', () => {
    const dense = cli(['speak', '--text', 'Hi.', '--format', 'codes', '--out', join(scratch, 'dense.json')], { HIGGS_MODEL_DIR: out, HIGGS_WEIGHTS: 'dense' });
    expect(dense.status).toBe(1);
    expect(dense.stderr).toContain('[E_MODEL_FORMAT]');
    expect(dense.stderr).toContain('load it with weights int8 (HIGGS_WEIGHTS=int8)');

    const again = cli(['quantize', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`[E_INPUT] ${out} is already quantized`);

    const busy = join(scratch, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    const refused = cli(['quantize', tinyHfDir, '--to', busy]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('is not empty and not a quantized model directory');

    const manifestPath = join(out, 'int8-manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, source: { ...manifest.source, fingerprint: '0'.repeat(64) } }));
    const stale = cli(['speak', '--text', 'Hi.', '--format', 'codes', '--out', join(scratch, 'stale.json')], { HIGGS_MODEL_DIR: out, HIGGS_WEIGHTS: 'int8' });
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain('[E_MODEL_FORMAT]');
    expect(stale.stderr).toContain('stale or foreign');
  });
});
