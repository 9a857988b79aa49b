// vitest globalSetup: makes sure the tiny random checkpoints exist before any test runs.
// The generator checks its own version stamp, so an up-to-date fixture costs nothing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, tinyFixtureDir } from './fixture-paths.js';

export default function setup(): void {
  const script = join(repoRoot, 'scripts', 'fixtures', 'make-tiny.mjs');
  execFileSync(process.execPath, [script, tinyFixtureDir], { stdio: 'inherit' });
}
