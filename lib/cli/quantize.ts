/**
 * `higgs-audio quantize MODEL_DIR [--to DIR]`: the LM's projections quantized to int8 once
 * (symmetric per output channel, bf16 scales: what HIGGS_WEIGHTS=int8 computes at every load
 * otherwise) and saved as a complete model directory: the source's small files (config.json,
 * generation_config.json, tokenizer files) copied, model.int8.safetensors (the int8 weights and
 * scales, the embeddings and norms as stored) and int8-manifest.json, written last, naming the
 * source checkpoint's fingerprint (native/core/lm/int8_checkpoint.h has the layout). Loading DIR
 * with HIGGS_WEIGHTS=int8 reads the saved weights; the engine refuses a file its manifest does
 * not describe. Default DIR: MODEL_DIR-int8, beside the source (in the pull cache for a pulled
 * model). stdout gets DIR; stderr the progress.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { QuantizeArgs } from './args.js';
import { createProgress, type ProgressStream } from './progress.js';
import { HiggsError } from '../common/errors.js';
import { packageVersion } from '../common/package-root.js';
import { modelFingerprint } from '../service/model-fingerprint.js';

/** The files quantize writes (native/core/lm/int8_checkpoint.h). */
export const INT8_WEIGHTS_FILE = 'model.int8.safetensors';
export const INT8_MANIFEST_FILE = 'int8-manifest.json';

/** Weights and other checkpoints of the source, not copied: the int8 file replaces them. */
const NOT_COPIED = /(\.safetensors|\.safetensors\.index\.json|\.bin|\.pt|\.pth|\.ckpt|\.tmp)$/;

export interface QuantizeIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  cwd: string;
  /** Draw a bar (stderr is a terminal) rather than plain lines. */
  bar: boolean;
}

/** The default output directory: MODEL_DIR-int8 beside the source. */
export function defaultQuantizeDir(modelDir: string): string {
  return `${modelDir.replace(/\/+$/, '')}-int8`;
}

export async function quantize(args: QuantizeArgs, io: QuantizeIO): Promise<string> {
  const modelDir = resolve(io.cwd, args.modelDir);
  const outDir = args.to !== undefined ? resolve(io.cwd, args.to) : defaultQuantizeDir(modelDir);
  if (!existsSync(join(modelDir, 'config.json'))) throw new HiggsError('E_INPUT', `${modelDir}: no config.json there (not a model directory)`);
  if (existsSync(join(modelDir, INT8_MANIFEST_FILE))) {
    throw new HiggsError('E_INPUT', `${modelDir} is already quantized (it has ${INT8_MANIFEST_FILE}): load it with HIGGS_WEIGHTS=int8, or quantize its source`);
  }
  if (outDir === modelDir) throw new HiggsError('E_INPUT', '--to must name another directory than MODEL_DIR');
  await prepareOutDir(outDir);

  const progress = createProgress(io.stderr, io.bar);
  progress.note(`quantizing ${modelDir} into ${outDir}`);
  const sourceFingerprint = await modelFingerprint(modelDir);
  for (const name of await readdir(modelDir)) {
    if (name.startsWith('.') || NOT_COPIED.test(name) || name === INT8_MANIFEST_FILE) continue;
    if ((await stat(join(modelDir, name))).isFile()) await copyFile(join(modelDir, name), join(outDir, name));
  }
  // Loaded here: help and usage errors load no addon.
  const { loadNative } = await import('../native/loader.js');
  const result = await loadNative().quantizeCheckpoint(
    { modelDir, outDir, sourceFingerprint, createdBy: `higgs-audio ${packageVersion()}` },
    (done, total) => progress.update('quantizing', total > 0 ? done / total : 0),
  );
  progress.finish();
  progress.note(`wrote ${result.weightsPath} (${(result.bytes / 2 ** 30).toFixed(2)} GiB) and ${INT8_MANIFEST_FILE}; load it with HIGGS_WEIGHTS=int8 HIGGS_MODEL_DIR=${outDir}`);
  io.stdout.write(`${outDir}\n`);
  return outDir;
}

/**
 * DIR made, or an empty one, or an earlier quantize's output (its manifest removed first, so a
 * run that fails leaves a directory that refuses to load rather than one that looks complete).
 * Anything else there is not ours to overwrite.
 */
async function prepareOutDir(outDir: string): Promise<void> {
  if (existsSync(outDir)) {
    if (!(await stat(outDir)).isDirectory()) throw new HiggsError('E_INPUT', `${outDir} exists and is not a directory`);
    const names = await readdir(outDir);
    if (names.length > 0 && !names.includes(INT8_MANIFEST_FILE) && !names.includes(INT8_WEIGHTS_FILE)) {
      throw new HiggsError('E_INPUT', `${outDir} is not empty and not a quantized model directory: choose another --to`);
    }
  }
  await mkdir(outDir, { recursive: true });
  await rm(join(outDir, INT8_MANIFEST_FILE), { force: true });
}
