// Where the generated test fixtures live (ignored by git, made by scripts/fixtures/make-tiny.mjs).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const tinyFixtureDir = join(repoRoot, 'test', 'fixtures', 'tiny');
export const tinyHfDir = join(tinyFixtureDir, 'hf');
export const tinyOriginalDir = join(tinyFixtureDir, 'orig');
export const tinyTokenizerPath = join(tinyFixtureDir, 'tokenizer.json');
