#!/usr/bin/env node
// npm's install hook. Without it npm would run `node-gyp rebuild` for our binding.gyp on every
// install, and fail hard where libtorch is missing. npm 11 runs this hook only for packages the
// user allowed, so nothing depends on it: the addon is made by `npx higgs-audio setup`
// (lib/setup/setup.ts), which this hook names, and the install itself always succeeds (loading
// the library then throws one clear E_NATIVE_MISSING error naming setup too).
// Torch_DIR (the CMake package of a libtorch 2.11 to 2.14) builds the addon here, against it.
// HIGGS_AUDIO_SKIP_BUILD=1 skips everything.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const note = (message) => console.log(`higgs-audio: ${message}`);
const torch = process.env.Torch_DIR;

if (process.env.HIGGS_AUDIO_SKIP_BUILD === '1') {
  note('HIGGS_AUDIO_SKIP_BUILD=1: not building the native addon');
} else if (existsSync(join(root, 'build', 'Release', 'higgs_audio.node'))) {
  note('native addon already built');
} else if (!torch || !existsSync(join(torch, 'TorchConfig.cmake'))) {
  note('the native addon is not built yet. Run `npx higgs-audio setup` once: it installs what the');
  note('build needs (Debian packages, torch from pip into a per-user folder) and builds it.');
} else {
  note(`building the native addon against Torch_DIR=${torch} (set HIGGS_AUDIO_SKIP_BUILD=1 to skip)`);
  const result = spawnSync('bash', ['scripts/build-native.sh', 'cpu', '--CDHIGGS_BUILD_TESTS=OFF', '--CDHIGGS_BUILD_BENCH=OFF'], {
    cwd: root,
    env: { ...process.env, HIGGS_TORCH_DIR: torch },
    stdio: 'inherit',
  });
  if (result.status !== 0) note('the native build failed (see above); `npx higgs-audio setup` builds it with what it needs');
}
