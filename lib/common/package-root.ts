// Where this package is installed: the addon, the bundled fixtures and package.json are found from here.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HiggsError } from './errors.js';

/** The package root: the nearest folder above this file whose package.json is higgs-audio. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'higgs-audio') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new HiggsError('E_NATIVE_MISSING', 'cannot find the higgs-audio package root');
    dir = parent;
  }
}

/** This package's version (package.json). */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
}
