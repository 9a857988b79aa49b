// `higgs-audio worker` as a child process in one-shot mode (runpod-python's --test_input): a good
// job prints a COMPLETED result and exits 0, a bad one prints FAILED and exits 1; the mode choice
// (flag, ./test_input.json, nothing) is as runpod-python's, and RUNPOD_WEBHOOK_GET_JOB starts the
// platform loop against a fake platform.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

const bin = join(repoRoot, 'bin', 'higgs-audio.js');
const input = { transcript: 'Hello there.', seed: 1, max_new_tokens: 30 };

beforeAll(() => {
  // bin/ runs dist/: build it when these modules are not there yet.
  const built = ['cli/runpod.js', 'runpod/oneshot.js', 'runpod/worker/worker.js'].every((file) => existsSync(join(repoRoot, 'dist', 'lib', file)));
  if (!built) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
  }
});

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HIGGS_MODEL_DIR: tinyHfDir,
    HIGGS_CODEC_DIR: join(goldensDir, 'codec'),
    HIGGS_VOICES_DIR: '',
    HIGGS_DEVICE: 'cpu',
    HIGGS_DTYPE: 'float32',
    HIGGS_MAX_CONTEXT: '2048',
    HIGGS_LOG_LEVEL: 'silent',
  };
  delete env.RUNPOD_WEBHOOK_GET_JOB; // one-shot unless a test sets it
  return env;
}

function worker(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const env = { ...childEnv(), ...options.env };
  const run = spawnSync(process.execPath, [bin, 'worker', ...args], { cwd: options.cwd ?? repoRoot, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const lines = run.stdout.trim().split('\n');
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, result: () => JSON.parse(lines.at(-1)!) };
}

/** Every non-empty line of a stream that RunPod's log view reads must be a JSON object (libtorch's raw warnings were not). */
function expectJsonLines(stream: string): void {
  for (const line of stream.split('\n').filter((l) => l.trim() !== '')) {
    expect(() => JSON.parse(line), line).not.toThrow();
  }
}

function jobFile(body: unknown, name = 'job.json'): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'higgs-oneshot-'));
  const file = join(dir, name);
  writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  return { dir, file };
}

describe('higgs-audio worker (one-shot)', () => {
  it('runs --test-input FILE, prints the COMPLETED result as one JSON line and exits 0', () => {
    const run = worker(['--test-input', jobFile({ input }).file]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = run.result();
    expect(result).toMatchObject({ id: 'local_test', status: 'COMPLETED', output: { format: 'wav', sample_rate: 24000, seed: 1 } });
    expect(Buffer.from(result.output.audio_base64, 'base64').subarray(0, 4).toString('ascii')).toBe('RIFF');
  });

  it('writes JSON lines only, on both streams, with the logs on', () => {
    const run = worker(['--test-input', jobFile({ input }).file], { env: { HIGGS_LOG_LEVEL: 'debug' } });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('"event":"load.done"'); // the logs are there to check
    expectJsonLines(run.stdout);
    expectJsonLines(run.stderr);
  });

  it('prints a FAILED result with the error code and field and exits 1 for a bad job', () => {
    const run = worker(['--test-input', jobFile({ id: 'bad-1', input: { transcript: 'Hi', ref_audio: '../x' } }).file]);
    expect(run.status).toBe(1);
    const result = run.result();
    expect(result).toMatchObject({ id: 'bad-1', status: 'FAILED' });
    const error = JSON.parse(result.error);
    expect(error.error_type).toBe('E_INPUT');
    expect(error.error_message).toContain('ref_audio');
  });

  it('exits 1 with a message for an unusable test input file', () => {
    for (const [body, message] of [
      ['{"input": ', /not valid JSON/],
      ['{"inputs": {}}', /needs an "input" key/],
    ] as const) {
      const run = worker(['--test-input', jobFile(body).file]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    const missing = worker(['--test-input', '/nonexistent/job.json']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
  });

  it('takes inline JSON as runpod-python does (--test_input)', () => {
    const run = worker(['--test_input', JSON.stringify({ input: { ...input, stream: true } })]);
    expect(run.status).toBe(0);
    const result = run.result();
    expect(result.status).toBe('COMPLETED');
    expect(result.output[0].output.part).toBe(0); // streamed parts are collected
  });

  it('uses ./test_input.json without a flag, and is a usage error (2) without one', () => {
    const { dir } = jobFile({ input }, 'test_input.json');
    const run = worker([], { cwd: dir });
    expect(run.status).toBe(0);
    expect(run.result().status).toBe('COMPLETED');
    const empty = mkdtempSync(join(tmpdir(), 'higgs-oneshot-'));
    const none = worker([], { cwd: empty });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--test-input FILE.*test_input\.json.*RUNPOD_WEBHOOK_GET_JOB/);
  });

  it('runs the platform loop (lib/runpod/worker/worker.ts) when RUNPOD_WEBHOOK_GET_JOB is set, and drains on SIGTERM', async () => {
    // A fake platform: one job on the first take (job-take-batch when the worker has several free slots), then empty long polls; SIGTERM after the result.
    let taken = false;
    let child: ChildProcess | undefined;
    const results: { url: string; body: Record<string, unknown> }[] = [];
    const platform = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        if (req.method === 'GET' && /\/job-take(-batch)?\//.test(req.url!) && !taken) {
          taken = true;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'job-1', input }));
        } else if (req.method === 'POST' && req.url!.includes('/job-done/')) {
          const result = JSON.parse(body) as Record<string, unknown>;
          res.writeHead(200).end('{}');
          if (result.status === 'IN_PROGRESS') return; // a progress update, not the result
          results.push({ url: req.url!, body: result });
          child?.kill('SIGTERM');
        } else {
          setTimeout(() => res.writeHead(204).end(), 200); // no job (or nothing to stop)
        }
      });
    });
    await new Promise<void>((r) => platform.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(platform.address() as AddressInfo).port}`;
    try {
      child = spawn(process.execPath, [bin, 'worker'], {
        cwd: repoRoot,
        env: {
          ...childEnv(),
          HIGGS_LOG_LEVEL: 'debug',
          RUNPOD_ENDPOINT_ID: 'e1', // on the platform: every log line is JSON
          RUNPOD_POD_ID: 'w1',
          RUNPOD_WEBHOOK_GET_JOB: `${base}/job-take/$RUNPOD_POD_ID`,
          RUNPOD_WEBHOOK_POST_OUTPUT: `${base}/job-done/$RUNPOD_POD_ID/$ID`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
      const [code] = (await once(child, 'close')) as [number | null]; // after both streams ended
      expect(stderr).toBe('');
      expect(stdout).toContain('"event":"load.done"');
      expectJsonLines(stdout);
      expect(code).toBe(0);
      expect(results).toHaveLength(1);
      expect(results[0]!.url).toContain('/job-done/w1/job-1');
      const output = results[0]!.body.output as { audio_base64: string };
      expect(Buffer.from(output.audio_base64, 'base64').subarray(0, 4).toString('ascii')).toBe('RIFF');
    } finally {
      child?.kill('SIGKILL');
      platform.closeAllConnections();
      await new Promise((r) => platform.close(r));
    }
  });
});
