/**
 * One-shot local test (docs/runpod-protocol.md#one-shot-mode), as runpod-python's `--test_input`:
 * run the job of a JSON file (default ./test_input.json) or of inline JSON once, print the result
 * as one JSON line, and exit 0 when it COMPLETED, 1 when it FAILED or the test input is unusable.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { HiggsError } from '../common/errors.js';
import type { TtsHandler } from './handler.js';
import { failureText } from './job-result.js';

export const DEFAULT_TEST_INPUT = 'test_input.json';

export interface OneShotOptions {
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
  cwd?: string;
  signal?: AbortSignal;
}

/** `source` is a file path, or inline JSON when it starts with `{` (runpod-python accepts both). */
export async function runOneShot(handler: TtsHandler, source = DEFAULT_TEST_INPUT, options: OneShotOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  let job: TestJob;
  try {
    job = await readTestInput(source, options.cwd ?? process.cwd());
  } catch (error) {
    stderr.write(`higgs-audio: [E_INPUT] ${(error as Error).message}\n`);
    return 1;
  }
  const ctx = { id: job.id, signal: options.signal ?? new AbortController().signal, route: 'runsync' as const, s3Config: job.s3Config };
  try {
    let output: unknown;
    if (handler.wantsStream(job.input)) {
      // Nothing polls a one-shot job: the streamed parts are the output.
      const parts: unknown[] = [];
      for await (const part of handler.stream(job.input, ctx)) parts.push({ output: part });
      output = parts;
    } else {
      output = await handler.run(job.input, ctx);
    }
    stdout.write(`${JSON.stringify({ id: job.id, status: 'COMPLETED', output })}\n`);
    return 0;
  } catch (error) {
    stdout.write(`${JSON.stringify({ id: job.id, status: 'FAILED', error: failureText(error) })}\n`);
    return 1;
  }
}

/** A test job as RunPod would deliver it: id, input and the s3Config beside it. */
interface TestJob {
  id: string;
  input: unknown;
  s3Config?: unknown;
}

async function readTestInput(source: string, cwd: string): Promise<TestJob> {
  const inline = source.trimStart().startsWith('{');
  const where = inline ? 'test input' : `test input ${source}`;
  let text: string;
  try {
    text = inline ? source : await readFile(resolve(cwd, source), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new HiggsError('E_INPUT', `${where}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HiggsError('E_INPUT', `${where}: not valid JSON (${(error as Error).message})`);
  }
  const { id, input, s3Config } = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  if (input === undefined || input === null) throw new HiggsError('E_INPUT', `${where}: needs an "input" key, like {"input": {"transcript": "Hello."}}`);
  return { id: typeof id === 'string' && id !== '' ? id : 'local_test', input, s3Config };
}
