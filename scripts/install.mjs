#!/usr/bin/env node
// npm's install hook. Without it npm would run `node-gyp rebuild` for our binding.gyp on every
// install, and fail hard where libtorch is missing. Here the addon is built only when a libtorch
// is named (Torch_DIR, or the project's .venv that `npm run bootstrap` makes) and no addon exists
// yet; otherwise a note says how to build it later, and the install itself succeeds (loading the
// library then throws one clear E_NATIVE_MISSING error).
// HIGGS_AUDIO_SKIP_BUILD=1 skips the build entirely (Docker stages that build explicitly).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const note = (message) => console.log(`higgs-audio: ${message}`);

/** Torch_DIR, else the CMake package of the torch in .venv (scripts/python-env.sh). */
function torchDir() {
  if (process.env.Torch_DIR && existsSync(join(process.env.Torch_DIR, 'TorchConfig.cmake'))) return process.env.Torch_DIR;
  const lib = join(root, '.venv', 'lib');
  for (const python of existsSync(lib) ? readdirSync(lib) : []) {
    const dir = join(lib, python, 'site-packages', 'torch', 'share', 'cmake', 'Torch');
    if (existsSync(join(dir, 'TorchConfig.cmake'))) return dir;
  }
  return null;
}

const torch = torchDir();
if (process.env.HIGGS_AUDIO_SKIP_BUILD === '1') {
  note('HIGGS_AUDIO_SKIP_BUILD=1: not building the native addon');
} else if (existsSync(join(root, 'build', 'Release', 'higgs_audio.node'))) {
  note('native addon already built');
} else if (!torch) {
  note('no libtorch was named (Torch_DIR, or .venv from `npm run bootstrap`), so the native addon was not');
  note('built. On Debian, `npm run bootstrap` sets everything up; elsewhere set Torch_DIR to the CMake');
  note('package of a libtorch 2.11 to 2.14 and run `npm run build:native`.');
} else {
  note(`building the native addon against ${torch} (cmake-js; set HIGGS_AUDIO_SKIP_BUILD=1 to skip)`);
  const result = spawnSync('npx', ['cmake-js', 'build', '--directory', root, '--out', join(root, 'build'), '--parallel', '2', `--CDTorch_DIR=${torch}`], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) note('the native build failed (see above); fix it and run `npm run build:native`');
}
