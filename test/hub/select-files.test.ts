// Which files pull takes: the engine's small files and ONE copy of the weights (the index's
// shards over a consolidated copy, safetensors over model.pth), the rest skipped with a reason.
import { describe, expect, it } from 'vitest';
import { HiggsError } from '../../lib/common/errors.js';
import { describeSkipped, parseIndex, selectFiles, type RepoFile } from '../../lib/hub/select-files.js';

const listing = (...paths: string[]): RepoFile[] => paths.map((path) => ({ path, size: 1 }));
const picked = (repo: RepoFile[], shards?: string[]) => {
  const selection = selectFiles('o/r', repo, shards);
  return { files: selection.files.map((file) => file.path).sort(), skipped: Object.fromEntries(selection.skipped.map((s) => [s.path, s.reason])), needsConversion: selection.needsConversion };
};

describe('selectFiles', () => {
  it("takes the index's shards and skips the consolidated copy beside them (Boson's rewritten repo)", () => {
    const repo = listing(
      'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
      'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
      'model.safetensors', 'README.md', '.gitattributes', 'figures/higgs.png',
    );
    const result = picked(repo, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(result.files).toEqual([
      'config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
      'model.safetensors.index.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    expect(result.skipped).toEqual({
      'model.safetensors': 'a consolidated second copy of the sharded weights',
      'README.md': 'not read by the engine',
      '.gitattributes': 'not read by the engine',
      'figures/higgs.png': 'in a subfolder',
    });
    expect(result.needsConversion).toBe(false);
  });

  it('takes model.safetensors alone when there is no index, and skips pickled copies', () => {
    const result = picked(listing('config.json', 'preprocessor_config.json', 'model.safetensors', 'model.pth', 'pytorch_model.bin'));
    expect(result.files).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
    expect(result.skipped).toEqual({ 'model.pth': 'another copy of the weights', 'pytorch_model.bin': 'another copy of the weights' });
  });

  it('takes model.pth only when there are no safetensors at all, and says it needs converting', () => {
    const result = picked(listing('config.json', 'model.pth', 'README.md'));
    expect(result.files).toEqual(['config.json', 'model.pth']);
    expect(result.needsConversion).toBe(true);
  });

  it('refuses a repository without config.json or without weights the engine reads', () => {
    expect(() => selectFiles('o/r', listing('model.safetensors'))).toThrow(/o\/r has no config.json/);
    expect(() => selectFiles('o/r', listing('config.json', 'pytorch_model.bin'))).toThrow(/has no weights the engine reads/);
  });

  it('refuses an index naming a shard the repository lacks', () => {
    const error = (() => {
      try {
        selectFiles('o/r', listing('config.json', 'model.safetensors.index.json', 'a.safetensors'), ['a.safetensors', 'b.safetensors']);
      } catch (e) {
        return e as HiggsError;
      }
    })();
    expect(error?.code).toBe('E_INPUT');
    expect(error?.message).toContain('b.safetensors');
  });

  it('describes what was skipped in one line', () => {
    expect(describeSkipped([{ path: 'README.md', reason: 'not read by the engine' }, { path: 'model.safetensors', reason: 'x' }])).toBe(
      'README.md (not read by the engine), model.safetensors (x)',
    );
  });
});

describe('parseIndex', () => {
  it('lists each shard once, in first-use order', () => {
    const text = JSON.stringify({ weight_map: { a: 'model-2.safetensors', b: 'model-1.safetensors', c: 'model-2.safetensors' } });
    expect(parseIndex('o/r', text)).toEqual(['model-2.safetensors', 'model-1.safetensors']);
  });

  it.each([
    ['not json', 'no weight_map'],
    [JSON.stringify({ metadata: {} }), 'no weight_map'],
    [JSON.stringify({ weight_map: { a: '../escape.safetensors' } }), 'no usable shard'],
    [JSON.stringify({ weight_map: { a: 'sub/dir.safetensors' } }), 'no usable shard'],
    [JSON.stringify({ weight_map: {} }), 'no usable shard'],
  ])('refuses %s', (text, message) => {
    expect(() => parseIndex('o/r', text)).toThrow(message);
  });
});
