/**
 * Command-line parsing with node:util parseArgs in strict mode: an unknown flag, a missing value
 * or a stray word is a UsageError (exit 2), never silently ignored.
 */
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { OUTPUT_FORMATS, type OutputFormat } from '../request/defaults.js';
import { DEFAULT_REPOS, isRepoId } from '../hub/repos.js';
import { isCommand, type Command } from './usage.js';

/** Bad command-line syntax; the CLI prints it with a pointer to the help and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Invocation =
  | { kind: 'help'; command?: Command }
  | { kind: 'version' }
  | { kind: 'speak'; args: SpeakArgs }
  | { kind: 'voices' }
  | { kind: 'pull'; args: PullArgs }
  | { kind: 'setup'; args: SetupArgs }
  | { kind: 'unavailable'; command: 'serve' | 'worker' };

export interface SpeakArgs {
  input: { text: string } | { file: string };
  voice?: string;
  /** As given; resolved against the working directory when written. */
  out: string;
  format: OutputFormat;
  seed?: number;
  scene?: string;
  /** Checked against the request schema's bounds before the model loads. */
  speed?: number;
  sampleRate?: number;
}

export interface PullArgs {
  /** Each repository with the revision to pull (a branch, tag or commit; default main). */
  repos: { repo: string; revision: string }[];
  /** --to ROOT, as given (resolved against the working directory); default: the pull cache. */
  to?: string;
}

export interface SetupArgs {
  backend: 'cpu' | 'cuda';
  /** --no-system-packages: name missing Debian packages, never install them. */
  installSystemPackages: boolean;
  /** --jobs N; default: lib/setup/setup.ts defaultJobs(). */
  jobs?: number;
}

const MAX_SEED = 2 ** 32 - 1;
/** A bound on --jobs that no machine's memory would hold anyway (each compile takes about 1.5 GB). */
const MAX_JOBS = 256;

/** The branch `pull` takes when no revision is named. */
export const DEFAULT_REVISION = 'main';

/** argv without the node and script paths. */
export function parseInvocation(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (first.startsWith('-')) {
    const { values } = strict(argv, { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } });
    if (values.help) return { kind: 'help' };
    return { kind: 'version' };
  }
  if (!isCommand(first)) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  switch (first) {
    case 'help':
      return parseHelp(rest);
    case 'speak':
      return parseSpeak(rest);
    case 'voices': {
      const { values } = strict(rest, { help: { type: 'boolean', short: 'h' } }, first);
      return values.help ? { kind: 'help', command: first } : { kind: 'voices' };
    }
    case 'pull':
      return parsePull(rest);
    case 'setup':
      return parseSetup(rest);
    case 'serve':
    case 'worker':
      // Whatever follows: these commands do not exist yet, so their flags are not known either.
      return { kind: 'unavailable', command: first };
  }
}

function parseHelp(rest: readonly string[]): Invocation {
  const { positionals } = strict(rest, {}, 'help', true);
  if (positionals.length > 1) throw new UsageError('help takes at most one command', 'help');
  const topic = positionals[0];
  if (topic === undefined) return { kind: 'help' };
  if (!isCommand(topic)) throw new UsageError(`unknown command ${JSON.stringify(topic)}`, 'help');
  return { kind: 'help', command: topic };
}

function parseSpeak(rest: readonly string[]): Invocation {
  const { values } = strict(
    rest,
    {
      text: { type: 'string', short: 't' },
      file: { type: 'string', short: 'f' },
      voice: { type: 'string' },
      out: { type: 'string', short: 'o' },
      format: { type: 'string' },
      seed: { type: 'string' },
      scene: { type: 'string' },
      speed: { type: 'string' },
      'sample-rate': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'speak',
  );
  if (values.help) return { kind: 'help', command: 'speak' };
  if ((values.text === undefined) === (values.file === undefined)) {
    throw new UsageError('give exactly one of --text TEXT or --file FILE', 'speak');
  }
  const format = parseFormat(values.format, values.out);
  return {
    kind: 'speak',
    args: {
      input: values.text !== undefined ? { text: values.text } : { file: values.file! },
      voice: values.voice,
      out: values.out ?? `higgs-audio.${format === 'ulaw' || format === 'alaw' ? `${format}.wav` : format}`,
      format,
      seed: values.seed === undefined ? undefined : parseSeed(values.seed),
      scene: values.scene,
      speed: values.speed === undefined ? undefined : parseNumber('--speed', values.speed),
      sampleRate: values['sample-rate'] === undefined ? undefined : parseNumber('--sample-rate', values['sample-rate']),
    },
  };
}

function parsePull(rest: readonly string[]): Invocation {
  const { values, positionals } = strict(
    rest,
    { to: { type: 'string' }, revision: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    'pull',
    true,
  );
  if (values.help) return { kind: 'help', command: 'pull' };
  if (values.to !== undefined && values.to.trim() === '') throw new UsageError('--to needs a directory', 'pull');
  const revision = values.revision;
  if (revision !== undefined && !isRevision(revision)) throw new UsageError(`--revision must be a branch, tag or commit (got ${JSON.stringify(revision)})`, 'pull');
  // The default repositories have different histories: one revision cannot pin both.
  if (revision !== undefined && positionals.length === 0) throw new UsageError('--revision pins the repositories named with it: name them (or write REPO@REVISION)', 'pull');
  const repos = (positionals.length ? positionals : DEFAULT_REPOS).map((word) => {
    const at = word.indexOf('@');
    const repo = at < 0 ? word : word.slice(0, at);
    const own = at < 0 ? undefined : word.slice(at + 1);
    if (!isRepoId(repo)) throw new UsageError(`${JSON.stringify(repo)} is not a repository name (OWNER/NAME)`, 'pull');
    if (own !== undefined && !isRevision(own)) throw new UsageError(`${JSON.stringify(word)}: the revision after @ must be a branch, tag or commit`, 'pull');
    return { repo, revision: own ?? revision ?? DEFAULT_REVISION };
  });
  return { kind: 'pull', args: { repos, ...(values.to !== undefined ? { to: values.to } : {}) } };
}

function parseSetup(rest: readonly string[]): Invocation {
  const { values } = strict(
    rest,
    { cuda: { type: 'boolean' }, 'no-system-packages': { type: 'boolean' }, jobs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    'setup',
  );
  if (values.help) return { kind: 'help', command: 'setup' };
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = /^\d{1,3}$/.test(values.jobs) ? Number(values.jobs) : NaN;
    if (!(jobs >= 1 && jobs <= MAX_JOBS)) throw new UsageError(`--jobs must be a whole number from 1 to ${MAX_JOBS} (got ${JSON.stringify(values.jobs)})`, 'setup');
  }
  return {
    kind: 'setup',
    args: { backend: values.cuda ? 'cuda' : 'cpu', installSystemPackages: !values['no-system-packages'], ...(jobs !== undefined ? { jobs } : {}) },
  };
}

/** A git ref or commit as the Hub takes it: no spaces, no '..', nothing that leaves the URL path. */
function isRevision(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/.test(text) && !text.includes('..');
}

/** --format, else the --out extension when it names a format, else wav. */
function parseFormat(given: string | undefined, out: string | undefined): OutputFormat {
  if (given !== undefined) {
    const format = given.toLowerCase();
    if (!isFormat(format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')} (got ${JSON.stringify(given)})`, 'speak');
    return format;
  }
  const fromOut = out === undefined ? '' : extname(out).slice(1).toLowerCase();
  return isFormat(fromOut) ? fromOut : 'wav';
}

function isFormat(word: string): word is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(word);
}

function parseSeed(text: string): number {
  const seed = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(seed <= MAX_SEED)) throw new UsageError(`--seed must be a whole number from 0 to ${MAX_SEED} (got ${JSON.stringify(text)})`, 'speak');
  return seed;
}

/** A number; its bounds are the request schema's, checked with the rest of the request. */
function parseNumber(flag: string, text: string): number {
  const value = /^\s*$/.test(text) ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`${flag} must be a number (got ${JSON.stringify(text)})`, 'speak');
  return value;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & {};

/** parseArgs in strict mode, its errors turned into UsageErrors with the first sentence only. */
function strict<T extends Options>(args: readonly string[], options: T, command?: Command, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Node appends advice about '--' that does not apply to these commands.
    throw new UsageError(message.split(/\.\s/)[0]!.replace(/\.$/, ''), command);
  }
}
