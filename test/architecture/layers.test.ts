// The import graph of lib/: every folder is a layer, and an import may only go to the same layer
// or one below it (the order below), so the tree reads bottom-up; no module imports itself back.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../setup/fixture-paths.js';

/** Bottom to top. A folder not listed here is an error, so a new folder must be placed. */
const LAYERS: readonly string[][] = [
  ['common'],
  ['native', 'hub'],
  ['config', 'audio', 'setup'],
  ['text'],
  ['text/prompt'],
  ['voices'],
  ['request'],
  ['speech'],
  ['service', 's3'],
  ['openai'],
  ['runpod'],
  ['runpod/worker', 'server'],
  ['cli'],
  ['.'], // lib/index.ts and lib/internals.ts, the package's entries
];

const libDir = join(repoRoot, 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports (static, dynamic and type-only) of one file, as lib-relative .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((spec) => relative(libDir, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
}

const folderOf = (path: string): string => (dirname(path) === '.' ? '.' : dirname(path));
const layerOf = (folder: string): number => LAYERS.findIndex((layer) => layer.includes(folder));

const graph = new Map(sources(libDir).map((file) => [relative(libDir, file), importsOf(file)]));

describe('lib/ layers', () => {
  it('places every folder in a layer', () => {
    const unplaced = [...new Set([...graph.keys()].map(folderOf))].filter((folder) => layerOf(folder) < 0);
    expect(unplaced).toEqual([]);
  });

  it('imports only existing modules, in the same layer or below', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        expect(graph.has(target), `${file} imports ${target}, which does not exist`).toBe(true);
        if (layerOf(folderOf(target)) > layerOf(folderOf(file))) upward.push(`${file} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
