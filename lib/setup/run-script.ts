/**
 * Runs one of the package's set-up scripts (scripts/*.sh) as a child process: every line it
 * prints is appended to the set-up log and handed to `onLine`, and its stdout is returned (the
 * scripts print their result there, e.g. python-env.sh the Torch_DIR). An interrupt kills it.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ScriptRun {
  /** Package root (where scripts/ is). */
  root: string;
  /** scripts/<name> and its arguments. */
  script: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** The set-up log, appended to. */
  logFile: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

export interface ScriptResult {
  status: number | null;
  stdout: string;
}

export async function runScript(run: ScriptRun): Promise<ScriptResult> {
  const log = createWriteStream(run.logFile, { flags: 'a' });
  log.write(`\n==> ${new Date().toISOString()} scripts/${run.script} ${run.args.join(' ')}\n`);
  const child = spawn('bash', [join(run.root, 'scripts', run.script), ...run.args], {
    cwd: run.root,
    env: run.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: run.signal,
    killSignal: 'SIGTERM',
  });
  let stdout = '';
  const reading = (['stdout', 'stderr'] as const).map(
    (name) =>
      new Promise<void>((done) => {
        const lines = createInterface({ input: child[name] });
        lines.on('line', (line) => {
          if (name === 'stdout') stdout += `${line}\n`;
          log.write(`${line}\n`);
          run.onLine?.(line, name);
        });
        lines.on('close', done);
      }),
  );
  const status = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null)); // an abort, or bash missing
    child.on('close', (code) => resolve(code));
  });
  await Promise.all(reading);
  await new Promise<void>((done) => log.end(done));
  return { status, stdout };
}
