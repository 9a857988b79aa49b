import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // A folder that never exists: a real `higgs-audio pull` cache on this machine (~/.cache) must
    // not swap the bundled tiny model for real weights (lib/hub/cache-dir.ts).
    env: { HIGGS_CACHE_DIR: join(tmpdir(), 'higgs-audio-tests-no-pull-cache') },
    // Generates the tiny random checkpoints once per run (skipped when up to date).
    globalSetup: ['test/setup/fixtures.ts'],
  },
});
