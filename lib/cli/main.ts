/**
 * The `higgs-audio` command line (bin/higgs-audio.js runs main()). runCli maps a command to an
 * exit status (lib/cli/io.ts: 0 done, 1 an error, 2 a usage error, 130 interrupted).
 */
import { parseInvocation, UsageError, type Invocation, type PullArgs, type QuantizeArgs, type SetupArgs } from './args.js';
import type { CliBackend } from './backend.js';
import { EXIT, type CliIO } from './io.js';
import { wantsBar } from './progress.js';
import { usage } from './usage.js';
import { loadConfig, type HiggsConfig } from '../config/load-config.js';
import { runpodVolume } from '../runpod/volume.js';
import { errorCode } from '../common/errors.js';

/** After an interrupt, how long a cancelled request may take to wind down before we exit anyway. */
const CANCEL_GRACE_MS = 3000;

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const helpCommand = error.command && error.command !== 'help' ? ` ${error.command}` : '';
    io.stderr.write(`higgs-audio: [E_INPUT] ${error.message}\nRun 'higgs-audio help${helpCommand}' for usage.\n`);
    return EXIT.usage;
  }
  switch (invocation.kind) {
    case 'help':
      io.stdout.write(usage(invocation.command));
      return EXIT.ok;
    case 'version':
      io.stdout.write(await versionText());
      return EXIT.ok;
    case 'unavailable': {
      // serve and worker parse their own flags (lib/cli/runpod.ts), loaded only when used.
      const { runRunpodCommand } = await import('./runpod.js');
      return runRunpodCommand(invocation.command, argv.slice(1), io);
    }
    case 'voices':
    case 'speak':
      return withBackend(invocation, io);
    case 'pull':
      return pullCommand(invocation.args, io);
    case 'quantize':
      return quantizeCommand(invocation.args, io);
    case 'setup':
      return setupCommand(invocation.args, io);
  }
}

/**
 * The package version on the first line (what scripts read), then what the addon was built with.
 * The one command besides speak/voices that loads the addon (help does not); loaded here, not at
 * the top, for that reason.
 */
async function versionText(): Promise<string> {
  const build = (await import('../native/build-info.js')).buildInfo();
  const addon =
    build.abi === null
      ? [`addon: not loaded (${build.addonError})`]
      : [`addon abi: ${build.abi}`, `libtorch: ${build.torchVersion}`, `cuda: ${build.cudaVersion}`, `kernel archs: ${build.kernelArchs}`];
  return `${[build.version, ...addon].join('\n')}\n`;
}

/**
 * A command that needs no config and no engine: its module is loaded only when used. Exit 0, 1
 * with the error reported, or 130 when interrupted (saying `again`: how to go on).
 */
async function standalone(work: () => Promise<unknown>, io: CliIO, again: string): Promise<number> {
  try {
    await work();
    return EXIT.ok;
  } catch (error) {
    if (io.signal?.aborted) {
      io.stderr.write(`higgs-audio: [E_CANCELLED] interrupted; ${again}\n`);
      return EXIT.interrupted;
    }
    reportError(error, io);
    return EXIT.error;
  }
}

/** `pull` needs only the Hub client. */
function pullCommand(args: PullArgs, io: CliIO): Promise<number> {
  return standalone(async () => (await import('./pull.js')).pull(args, { ...io, bar: wantsBar(io.stderr, io.env) }), io, 'run pull again to resume');
}

/** `quantize` needs the addon but no config and no engine. */
function quantizeCommand(args: QuantizeArgs, io: CliIO): Promise<number> {
  return standalone(async () => (await import('./quantize.js')).quantize(args, { ...io, bar: wantsBar(io.stderr, io.env) }), io, 'run quantize again');
}

/** `setup` builds the addon, so it must run where none loads yet: nothing here imports it. */
function setupCommand(args: SetupArgs, io: CliIO): Promise<number> {
  return standalone(async () => (await import('./setup.js')).setupCommand(args, io), io, 'run setup again to go on');
}

async function withBackend(invocation: Extract<Invocation, { kind: 'voices' | 'speak' }>, io: CliIO): Promise<number> {
  let backend: CliBackend | undefined;
  try {
    const config = loadConfig(io.env, { volume: runpodVolume() });
    // Loaded here, not at the top: help and version load no native addon (test/cli checks).
    const create = io.createBackend ?? (await import('./backend.js')).createCliBackend;
    const live = create(config);
    backend = live;
    if (invocation.kind === 'voices') {
      await listVoices(live, config, io);
    } else {
      const { speak } = await import('./speak.js');
      const bar = wantsBar(io.stderr, io.env);
      await untilSettledOrInterrupted(speak(invocation.args, config, live, { ...io, bar }), io.signal);
    }
    return EXIT.ok;
  } catch (error) {
    if (io.signal?.aborted) {
      io.stderr.write('higgs-audio: [E_CANCELLED] interrupted\n');
      return EXIT.interrupted;
    }
    reportError(error, io);
    return EXIT.error;
  } finally {
    // An interrupted request may still hold the engine: exiting frees it either way.
    if (!io.signal?.aborted) await backend?.dispose().catch(() => undefined);
  }
}

async function listVoices(backend: CliBackend, config: HiggsConfig, io: CliIO): Promise<void> {
  if (config.voicesDir === null) {
    io.stderr.write('higgs-audio: no voice directory is configured (set HIGGS_VOICES_DIR)\n');
    return;
  }
  const { presets, profiles } = await backend.listVoices();
  const lines = [...presets, ...profiles.map((name) => `profile:${name}`)];
  if (lines.length) io.stdout.write(`${lines.join('\n')}\n`);
  else io.stderr.write(`higgs-audio: no voices in ${config.voicesDir}\n`);
}

/** `work`, unless an interrupt comes and it has not wound down within the grace period. */
function untilSettledOrInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => reject(new Error('interrupted')), CANCEL_GRACE_MS);
      timer.unref();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}

function reportError(error: unknown, io: CliIO): void {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`higgs-audio: [${errorCode(error)}] ${message}\n`);
  if (io.env.HIGGS_DEBUG === '1') io.stderr.write(`${debugText(error)}\n`);
}

/** The stack and the chain of causes: for bug reports, never shown by default. */
function debugText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth += 1) {
    parts.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    e = e instanceof Error ? e.cause : undefined;
    if (e !== undefined) parts.push('caused by:');
  }
  return parts.join('\n');
}


/** The process entry: wires SIGINT to cancellation and returns the exit status. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const interrupt = new AbortController();
  const onSigint = () => {
    // A second Ctrl-C does not wait for the cancelled request to wind down.
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await runCli(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
      cwd: process.cwd(),
      signal: interrupt.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
