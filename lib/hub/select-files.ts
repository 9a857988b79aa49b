/**
 * Which files of a repository `pull` fetches: only what the engine reads (config, tokenizer,
 * preprocessor config) and ONE copy of the weights. Boson's rewritten model repository holds the
 * weights twice, as shards with an index and as one consolidated model.safetensors (~23 GB
 * together); the index's shards win. A repository without safetensors (the codec's original
 * release) gives model.pth, which scripts/convert_codec.py converts once. Pure: the caller lists
 * the repository and reads the index.
 */
import { HiggsError } from '../common/errors.js';

/** A file of the repository listing, with what the Hub says its bytes hash to. */
export interface RepoFile {
  path: string;
  size: number;
  /** The LFS object id, which is the sha256 of the content (large files only). */
  sha256?: string;
  /** The git blob id (sha1 of "blob SIZE\0" + content); checked for files not in LFS. */
  gitOid?: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface Selection {
  files: RepoFile[];
  skipped: SkippedFile[];
  /** Only model.pth holds the weights: it must be converted before the engine can load it. */
  needsConversion: boolean;
}

/** The small files the engine (or its tokenizer and codec loaders) reads, when present. */
export const ENGINE_FILES: readonly string[] = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'preprocessor_config.json',
];

export const WEIGHTS_INDEX = 'model.safetensors.index.json';
export const CONSOLIDATED_WEIGHTS = 'model.safetensors';
export const PICKLED_WEIGHTS = 'model.pth';

const isSafetensors = (path: string): boolean => path.endsWith('.safetensors');
const isPickle = (path: string): boolean => /\.(pth|pt|bin|ckpt)$/.test(path);

/**
 * Picks the files to fetch. `shards` are the file names of the index's weight_map (parseIndex)
 * when the repository has an index; they must all be in the listing.
 * @throws HiggsError E_INPUT when the repository has no config.json or no weights the engine reads.
 */
export function selectFiles(repo: string, listing: readonly RepoFile[], shards?: readonly string[]): Selection {
  const top = listing.filter((file) => !file.path.includes('/'));
  const names = new Set(top.map((file) => file.path));
  if (!names.has('config.json')) throw new HiggsError('E_INPUT', `${repo} has no config.json: not a checkpoint the engine reads`);

  const weights = pickWeights(repo, names, shards);
  const wanted = new Set([...ENGINE_FILES.filter((name) => names.has(name)), ...weights.files]);
  const files = top.filter((file) => wanted.has(file.path));
  const skipped = listing
    .filter((file) => !wanted.has(file.path))
    .map((file) => ({ path: file.path, reason: file.path.includes('/') ? 'in a subfolder' : weights.skipReason(file.path) }));
  return { files, skipped, needsConversion: weights.needsConversion };
}

interface WeightsChoice {
  files: string[];
  needsConversion: boolean;
  skipReason(path: string): string;
}

function pickWeights(repo: string, names: ReadonlySet<string>, shards: readonly string[] | undefined): WeightsChoice {
  const other = (path: string, why: string): string => (isSafetensors(path) || isPickle(path) ? why : 'not read by the engine');
  if (names.has(WEIGHTS_INDEX)) {
    if (shards === undefined) throw new Error('selectFiles: the index must be read first');
    const missing = shards.filter((shard) => !names.has(shard));
    if (missing.length) throw new HiggsError('E_INPUT', `${repo}: ${WEIGHTS_INDEX} names shards the repository does not hold: ${missing.join(', ')}`);
    return {
      files: [WEIGHTS_INDEX, ...shards],
      needsConversion: false,
      skipReason: (path) =>
        path === CONSOLIDATED_WEIGHTS ? 'a consolidated second copy of the sharded weights' : other(path, `another copy of the weights (not in ${WEIGHTS_INDEX})`),
    };
  }
  if (names.has(CONSOLIDATED_WEIGHTS)) {
    return { files: [CONSOLIDATED_WEIGHTS], needsConversion: false, skipReason: (path) => other(path, 'another copy of the weights') };
  }
  const loose = [...names].filter(isSafetensors);
  if (loose.length) return { files: loose, needsConversion: false, skipReason: (path) => other(path, 'pickled weights (the safetensors are used)') };
  if (names.has(PICKLED_WEIGHTS)) {
    return { files: [PICKLED_WEIGHTS], needsConversion: true, skipReason: (path) => other(path, 'another copy of the weights') };
  }
  throw new HiggsError('E_INPUT', `${repo} has no weights the engine reads (${WEIGHTS_INDEX}, ${CONSOLIDATED_WEIGHTS} or ${PICKLED_WEIGHTS})`);
}

/**
 * The shard file names of a model.safetensors.index.json, in first-use order.
 * @throws HiggsError E_INPUT when it is not an index or names a path outside the folder.
 */
export function parseIndex(repo: string, text: string): string[] {
  let map: unknown;
  try {
    map = (JSON.parse(text) as { weight_map?: unknown }).weight_map;
  } catch {
    map = undefined;
  }
  if (typeof map !== 'object' || map === null) throw new HiggsError('E_INPUT', `${repo}: ${WEIGHTS_INDEX} has no weight_map`);
  const shards = [...new Set(Object.values(map))];
  const bad = shards.filter((shard) => typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard) || shard.startsWith('.'));
  if (bad.length || shards.length === 0) throw new HiggsError('E_INPUT', `${repo}: ${WEIGHTS_INDEX} names no usable shard files (${bad.map(String).join(', ') || 'none'})`);
  return shards as string[];
}

/** "a (why), b (why)": the one log line about what was left on the Hub. */
export function describeSkipped(skipped: readonly SkippedFile[]): string {
  return skipped.map((file) => `${file.path} (${file.reason})`).join(', ');
}
