#!/usr/bin/env node
// The npm package as a library user gets it: `npm pack` of this checkout, installed into an empty
// project (npm runs or skips the install hook as its own policy says), then `npx higgs-audio
// setup` and speech with the bundled tiny model. One line per check; exits 1 when any failed.
//   install    npm install of the packed tarball succeeds; the library is importable
//   no addon   before setup, loading a model fails with E_NATIVE_MISSING naming `npx higgs-audio setup`
//   setup      `npx higgs-audio setup` exits 0 and prints the addon's path inside the project
//   generate   the library, imported as `higgs-audio`, writes a WAV that soxi reads, and the
//              project's `npx higgs-audio speak` with the same seed writes the same bytes as this
//              checkout's own build does
//   again      a second setup builds nothing and says the addon is current
// Work folder: build/package-smoke/ (the project is made afresh each run; torch's per-user
// environment, HIGGS_DATA_DIR=build/package-smoke/data, is kept between local runs).
// Needs this checkout's dist/, build/Release/higgs_audio.node and test/fixtures/tiny (npm test's
// set-up). `node scripts/run-tests.mjs --with-package-smoke` counts it as one test.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModelEnv } from './fixtures/tiny-env.mjs';

const repo = join(import.meta.dirname, '..');
const work = join(repo, 'build', 'package-smoke');
const app = join(work, 'app');
const data = join(work, 'data');
const model = tinyModelEnv(repo);
// Nothing of this checkout's set-up may leak in: the project must find everything itself.
const env = { ...process.env, HIGGS_DATA_DIR: data };
for (const name of ['Torch_DIR', 'HIGGS_AUDIO_ADDON', 'HIGGS_TORCH_DIR', 'HIGGS_PYTHON_HOME', 'HIGGS_AUDIO_SKIP_BUILD', 'HIGGS_MODEL_DIR', 'HIGGS_CODEC_DIR']) delete env[name];

let failed = 0;
function report(name, ok, detail) {
  console.log(`package smoke: ${name}: ${ok ? 'ok' : 'FAILED'}${detail ? ` (${detail})` : ''}`);
  if (!ok) failed += 1;
  return ok;
}
function tail(text, n = 3000) {
  const t = (text ?? '').trim();
  return t.length > n ? `...${t.slice(-n)}` : t;
}
function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: app, env, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 20 * 60_000, ...options });
}
function finish() {
  console.log(`package smoke: ${failed ? `${failed} FAILED` : 'all ok'}`);
  process.exit(failed ? 1 : 0);
}

// ---- pack and install ------------------------------------------------------------------------------
rmSync(app, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
const packed = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo });
const tarball = packed.status === 0 ? join(work, JSON.parse(packed.stdout)[0].filename) : null;
if (!report('pack', tarball !== null, tarball ?? tail(packed.stderr))) finish();
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'package-smoke-app', private: true, type: 'module' }, null, 2));
const installed = run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']);
const imported = run(process.execPath, ['--input-type=module', '-e', "const m = await import('higgs-audio'); console.log(typeof m.HiggsAudio)"]);
if (!report('install', installed.status === 0 && imported.stdout.trim() === 'function', tail(installed.stderr + imported.stderr, 1500))) finish();

// ---- a user's program -------------------------------------------------------------------------------
writeFileSync(
  join(app, 'speak.mjs'),
  `import { writeFileSync } from 'node:fs';
import { HiggsAudio } from 'higgs-audio';
const tts = new HiggsAudio({ config: { modelDir: process.env.SMOKE_MODEL, codecDir: process.env.SMOKE_CODEC, voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 2048 } });
try {
  const out = await tts.generate({ transcript: 'Hello from an installed package.', seed: 7, output_format: 'wav' });
  writeFileSync(process.argv[2], out.audio);
  console.log(JSON.stringify({ bytes: out.audio.length, seconds: out.durationSeconds }));
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }));
  process.exitCode = 1;
} finally {
  await tts.dispose();
}
`,
);
const program = (out) => run(process.execPath, ['speak.mjs', out], { env: { ...env, SMOKE_MODEL: model.HIGGS_MODEL_DIR, SMOKE_CODEC: model.HIGGS_CODEC_DIR, HIGGS_LOG_LEVEL: 'silent' } });
const lastJson = (text) => {
  try {
    return JSON.parse(text.trim().split('\n').at(-1) ?? '');
  } catch {
    return {};
  }
};

// ---- before setup: the error names it -----------------------------------------------------------------
{
  const before = program(join(app, 'before.wav'));
  const answer = lastJson(before.stdout);
  report('no addon', answer.code === 'E_NATIVE_MISSING' && answer.message.includes('npx higgs-audio setup'), answer.code ?? tail(before.stderr, 800));
}

// ---- setup ---------------------------------------------------------------------------------------------
const addon = join(app, 'node_modules', 'higgs-audio', 'build', 'Release', 'higgs_audio.node');
{
  const setup = run('npx', ['higgs-audio', 'setup']);
  writeFileSync(join(work, 'setup-output.log'), `${setup.stdout}${setup.stderr}`);
  const ok = setup.status === 0 && setup.stdout.trim() === addon;
  if (!report('setup', ok, ok ? (setup.stderr.match(/done in \d+ s/)?.[0] ?? '') : `exit ${setup.status}: ${tail(setup.stderr)}`)) finish();
}

// ---- generate ------------------------------------------------------------------------------------------
{
  const libraryWav = join(app, 'library.wav');
  const made = program(libraryWav);
  const answer = lastJson(made.stdout);
  const soxi = spawnSync('soxi', ['-D', libraryWav], { encoding: 'utf8' });
  const seconds = Number(soxi.stdout.trim());
  report('generate (library)', made.status === 0 && soxi.status === 0 && seconds > 0, made.status === 0 ? `${answer.bytes} bytes, soxi: ${seconds} s` : tail(made.stdout + made.stderr, 1500));

  const speak = ['speak', '--text', 'The same words from both builds.', '--seed', '7'];
  const packagedWav = join(app, 'speak.wav');
  const checkoutWav = join(work, 'speak-checkout.wav');
  const packaged = run('npx', ['higgs-audio', ...speak, '--out', packagedWav], { env: { ...env, ...model } });
  const checkout = run(process.execPath, [join(repo, 'bin', 'higgs-audio.js'), ...speak, '--out', checkoutWav], { cwd: repo, env: { ...env, ...model } });
  if (packaged.status !== 0 || checkout.status !== 0) {
    report('generate (speak)', false, `exit ${packaged.status} / ${checkout.status}: ${tail(packaged.stderr + checkout.stderr, 1500)}`);
  } else {
    const a = readFileSync(packagedWav);
    const b = readFileSync(checkoutWav);
    report('generate (speak)', a.length > 44 && a.equals(b), `${a.length} bytes, ${a.equals(b) ? 'byte-identical to' : 'DIFFERENT from'} this checkout's build`);
  }
}

// ---- again: nothing to do -----------------------------------------------------------------------------
{
  const again = run('npx', ['higgs-audio', 'setup']);
  const ok = again.status === 0 && again.stderr.includes('is current') && again.stderr.includes('already built');
  report('again', ok, ok ? again.stderr.match(/done in \d+ s/)?.[0] : tail(again.stderr, 800));
}
finish();
