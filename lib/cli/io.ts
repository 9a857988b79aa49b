/**
 * What every CLI command gets and returns: the process's streams and environment (CliIO, so
 * tests run commands in-process) and the exit statuses. Shared by lib/cli/main.ts and
 * lib/cli/runpod.ts, so neither imports the other.
 */
import type { CliBackend } from './backend.js';
import type { ProgressStream } from './progress.js';
import type { HiggsConfig } from '../config/load-config.js';

/** 0 done, 1 an error (printed as `higgs-audio: [CODE] message`), 2 a usage error, 130 interrupted. */
export const EXIT = { ok: 0, error: 1, usage: 2, interrupted: 130 } as const;

export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Fires on an interrupt (SIGINT): the running request is cancelled. */
  signal?: AbortSignal;
  /** Defaults to lib/cli/backend.ts, loaded only for commands that need it. */
  createBackend?: (config: HiggsConfig) => CliBackend;
}
