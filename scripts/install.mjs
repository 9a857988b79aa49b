#!/usr/bin/env node
// npm's install hook. Without it npm would run `node-gyp rebuild` for our binding.gyp on every
// install, and fail hard where libtorch is missing. Here the addon is built only when libtorch
// can be found and no addon exists yet; otherwise a note says how to build it later, and the
// install itself succeeds (loading the library then throws one clear E_NATIVE_MISSING error).
// HIGGS_AUDIO_SKIP_BUILD=1 skips the build entirely (Docker stages that build explicitly).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const note = (message) => console.log(`higgs-audio: ${message}`);

function torchConfigFound() {
  const prefixes = [
    process.env.Torch_DIR,
    ...(process.env.CMAKE_PREFIX_PATH ?? '').split(':'),
    '/usr/lib/x86_64-linux-gnu/cmake/Torch',
    '/usr/lib/aarch64-linux-gnu/cmake/Torch',
    '/usr/local/libtorch/share/cmake/Torch',
  ].filter(Boolean);
  return prefixes.some((p) => existsSync(join(p, 'TorchConfig.cmake')) || existsSync(join(p, 'Torch', 'TorchConfig.cmake')));
}

if (process.env.HIGGS_AUDIO_SKIP_BUILD === '1') {
  note('HIGGS_AUDIO_SKIP_BUILD=1: not building the native addon');
} else if (existsSync(join(root, 'build', 'Release', 'higgs_audio.node'))) {
  note('native addon already built');
} else if (!torchConfigFound()) {
  note('libtorch was not found (Torch_DIR, CMAKE_PREFIX_PATH, Debian libtorch-dev), so the native addon');
  note('was not built. Install libtorch and run `npm run build:native` (Debian: `npm run bootstrap`).');
} else {
  note('building the native addon (cmake-js; set HIGGS_AUDIO_SKIP_BUILD=1 to skip)');
  const result = spawnSync('npx', ['cmake-js', 'build', '--directory', root, '--out', join(root, 'build'), '--parallel', '2'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) note('the native build failed (see above); fix it and run `npm run build:native`');
}
