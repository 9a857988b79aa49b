// `higgs-audio pull`: its flags and help, its errors and exit statuses, JSON log lines off a
// terminal and a bar with bytes, rate and ETA on one (in-process, runCli), and the "done when":
// `higgs-audio pull --to DIR` against a fake Hub that cuts the connection mid-file, then
// `higgs-audio speak` from what it fetched (child processes, as users run them).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/main.js';
import { createPullReporter } from '../../lib/cli/pull-progress.js';
import { MANIFEST_FILE } from '../../lib/hub/manifest.js';
import { CODEC_REPO, MODEL_REPO } from '../../lib/hub/repos.js';
import { repoRoot } from '../setup/fixture-paths.js';
import { FakeHub } from '../support/fake-hub.js';
import { codecRepo, originalCodecRepo, shardedModelRepo } from '../support/hub-repos.js';

const scratch = mkdtempSync(join(tmpdir(), 'higgs-cli-pull-'));
const bin = join(repoRoot, 'bin', 'higgs-audio.js');
let hub: FakeHub;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.addRepo(MODEL_REPO, shardedModelRepo());
  hub.addRepo(CODEC_REPO, codecRepo());
  hub.addRepo('bosonai/original-codec', originalCodecRepo());
});
afterAll(async () => {
  await hub.close();
});

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** runCli in-process with captured streams; `tty` makes stderr a terminal. */
async function cli(args: string[], options: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false, columns: 200 },
    stdin: new PassThrough(),
    env: { HF_ENDPOINT: hub.url, HIGGS_CACHE_DIR: join(scratch, 'cache'), TERM: 'xterm', ...options.env },
    cwd: scratch,
  });
  return { status, stdout, stderr };
}

const to = (name: string): string => join(scratch, name);

describe('flags and help', () => {
  it.each([[['help', 'pull']], [['pull', '--help']], [['pull', '-h']]])('%j prints the pull page', async (args) => {
    const run = await cli(args);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: higgs-audio pull \[REPO\[@REVISION\]\.\.\.\] \[--to DIR\] \[--revision REV\]/);
    for (const word of ['--to', '--revision', 'HF_TOKEN', 'HF_ENDPOINT', 'HIGGS_CACHE_DIR', '/workspace/higgs_audio', MODEL_REPO, CODEC_REPO]) expect(run.stdout).toContain(word);
  });

  it('is listed in the overview', async () => {
    expect((await cli(['help'])).stdout).toMatch(/^ {2}pull {7}Download the model and codec/m);
  });

  it.each([
    [['pull', '--bogus'], "Unknown option '--bogus'"],
    [['pull', 'not-a-repo'], '"not-a-repo" is not a repository name (OWNER/NAME)'],
    [['pull', '../etc/x'], '"../etc/x" is not a repository name'],
    [['pull', '--revision', 'v1'], '--revision pins the repositories named with it'],
    [['pull', 'o/r', '--revision', 'a b'], '--revision must be a branch, tag or commit'],
    [['pull', 'o/r@'], '"o/r@": the revision after @ must be a branch, tag or commit'],
    [['pull', '--to', ''], '--to needs a directory'],
    [['pull', '--to'], "Option '--to <value>' argument missing"],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const run = await cli(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`higgs-audio: [E_INPUT] ${message}`);
    expect(run.stderr).toContain("Run 'higgs-audio help pull' for usage.");
  });
});

describe('errors (exit 1, a stable code)', () => {
  it('--to naming a file', async () => {
    const file = to('a-file');
    writeFileSync(file, 'x');
    const run = await cli(['pull', '--to', file]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`higgs-audio: [E_INPUT] --to ${file} is a file, not a directory`);
  });

  it('an unknown repository', async () => {
    const run = await cli(['pull', 'nobody/nothing', '--to', to('unknown')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('higgs-audio: [E_INPUT] repository nobody/nothing on');
  });

  it('no folder for the cache and no --to', async () => {
    const run = await cli(['pull'], { env: { HIGGS_CACHE_DIR: '', HOME: '', XDG_CACHE_HOME: '' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('[E_INPUT] no folder for the pull cache: set HIGGS_CACHE_DIR (or HOME), or give --to DIR');
  });
});

describe('output', () => {
  it('off a terminal: the folders on stdout, JSON log lines on stderr; a second run says it is up to date', async () => {
    const run = await cli(['pull', CODEC_REPO, '--to', to('json')]);
    expect(run.status, run.stderr).toBe(0);
    const dir = join(to('json'), CODEC_REPO);
    expect(run.stdout).toBe(`${dir}\n`);
    const lines = run.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { level: string; message: string; repo?: string });
    const messages = lines.map((line) => line.message);
    expect(messages).toContain('resolved');
    expect(messages.some((m) => m.startsWith('skipped README.md (not read by the engine)'))).toBe(true);
    expect(messages).toContain('verified');
    expect(messages).toContain('done');
    expect(run.stderr).not.toContain('\r');
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(true);

    const again = await cli(['pull', CODEC_REPO, '--to', to('json')]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('"message":"already up to date"');
  });

  it('on a terminal: a bar with bytes, rate and ETA, and plain lines', async () => {
    const run = await cli(['pull', CODEC_REPO, '--to', to('tty')], { tty: true });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain(`${CODEC_REPO}: main is commit `);
    // A loopback download is over before a rate can be measured: then the rate and ETA are "--".
    expect(run.stderr).toMatch(/\[#{20}\] 100% 1\.\d+ MB\/1\.\d+ MB ([\d.]+ (B|kB|MB|GB)|--)\/s ETA (\d+:\d\d|--:--) model\.safetensors/);
    expect(run.stderr).toContain('\r\x1b[2K');
    expect(run.stderr).toContain(`${CODEC_REPO}: done, 2 files in`);
  });

  it('logs a progress line at each tenth of a large file, with its rate and ETA', () => {
    let text = '';
    const reporter = createPullReporter({ write: (line: string) => (text += line) }, false);
    const size = 100 * 1024 * 1024;
    const repo = 'o/r';
    reporter.event({ type: 'plan', repo, files: [{ path: 'big.safetensors', size }], bytes: size });
    reporter.event({ type: 'file-start', repo, path: 'big.safetensors', size, offset: 0 });
    for (let have = 0; have < size; ) {
      const delta = Math.min(size - have, 1 << 20);
      have += delta;
      reporter.event({ type: 'bytes', repo, path: 'big.safetensors', delta, have, size });
    }
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const progress = lines.filter((line) => String(line.message).endsWith('%'));
    expect(progress.map((line) => line.message)).toEqual(['10%', '20%', '30%', '40%', '50%', '60%', '70%', '80%', '90%']);
    for (const line of progress) expect(Object.keys(line)).toEqual(expect.arrayContaining(['repo', 'file', 'bytes', 'size', 'bytesPerSecond', 'etaSeconds']));
  });

  it('says when a codec must be converted before it can be used', async () => {
    const run = await cli(['pull', 'bosonai/original-codec', '--to', to('pth')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('holds the original codec checkpoint (model.pth)');
    expect(run.stderr).toContain('python3 scripts/convert_codec.py');
  });
});

/** The built CLI as a child process (asynchronous: the fake Hub answers from this process). */
function spawnCli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGGS_') && !name.startsWith('HF_')));
  const child = spawn(process.execPath, [bin, ...args], { cwd: scratch, env: { ...clean, HIGGS_CACHE_DIR: join(scratch, 'no-cache'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

describe('done when: pull --to DIR after a cut download, then speak from DIR', () => {
  beforeAll(() => {
    if (!existsSync(join(repoRoot, 'dist', 'lib', 'cli', 'pull.js'))) {
      throw new Error('dist/lib/cli/pull.js is missing: build it with `npx tsc -p tsconfig.json`');
    }
  });

  it('fetches the sharded model (one copy) and the codec, resuming the cut file, and speaks a WAV', async () => {
    const root = to('volume');
    const shard = 'model-00002-of-00002.safetensors';
    hub.fault = (file, n) => (file === shard && n === 1 ? { cutAfter: 1_000_000 } : undefined);
    const pulled = await spawnCli(['pull', '--to', root], { HF_ENDPOINT: hub.url }).finally(() => (hub.fault = () => undefined));
    expect(pulled.status, pulled.stderr).toBe(0);
    const modelDir = join(root, MODEL_REPO);
    const codecDir = join(root, CODEC_REPO);
    expect(pulled.stdout).toBe(`${modelDir}\n${codecDir}\n`);
    expect(pulled.stderr).toContain('"message":"retrying: ');
    const shardRanges = hub.byteRequestsFor(shard).filter((r) => r.repo === MODEL_REPO).map((r) => r.range);
    expect(shardRanges[0]).toBeUndefined();
    expect(shardRanges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(hub.requests.filter((r) => r.repo === MODEL_REPO && r.file === 'model.safetensors')).toEqual([]);
    expect(readFileSync(join(modelDir, shard)).equals(shardedModelRepo()[shard]!)).toBe(true);

    const speakEnv = { HIGGS_DEVICE: 'cpu', HIGGS_DTYPE: 'float32', HIGGS_MAX_CONTEXT: '2048', HIGGS_LOG_LEVEL: 'silent' };
    const wav = join(scratch, 'pulled.wav');
    const spoke = await spawnCli(['speak', '--text', 'The sun rises in the east.', '--seed', '3', '--out', wav], {
      ...speakEnv,
      HIGGS_MODEL_DIR: modelDir,
      HIGGS_CODEC_DIR: codecDir,
    });
    expect(spoke.status, spoke.stderr).toBe(0);
    expect(spoke.stdout.split('\n')[0]).toBe(wav);
    expect(spoke.stderr).not.toContain('bundled tiny random model');
    const header = readFileSync(wav);
    expect(header.subarray(0, 4).toString()).toBe('RIFF');
    expect(header.subarray(8, 12).toString()).toBe('WAVE');
    expect(header.length).toBeGreaterThan(44);

    // The same folder as the pull cache: found with no model variable set.
    const fromCache = await spawnCli(['speak', '--text', 'Hello.', '--seed', '3', '--out', join(scratch, 'cache.wav')], { ...speakEnv, HIGGS_CACHE_DIR: root });
    expect(fromCache.status, fromCache.stderr).toBe(0);
    expect(fromCache.stderr).not.toContain('bundled tiny random model');
  });
});
