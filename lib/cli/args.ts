/**
 * Command-line parsing with node:util parseArgs in strict mode: an unknown flag, a missing value
 * or a stray word is a UsageError (exit 2), never silently ignored.
 */
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { CODES_FORMAT, OUTPUT_FORMATS, OUTPUT_FORMAT_ALIASES, type ResultFormat } from '../request/defaults.js';
import { DEFAULT_REPOS, isRepoId } from '../hub/repos.js';
import { isCommand, type Command } from './commands.js';
import { UsageError } from './usage-error.js';
import { requestFields, requestFlagOptions } from './request-flags.js';

export { UsageError };

export type Invocation =
  | { kind: 'help'; command?: Command }
  | { kind: 'version' }
  | { kind: 'speak'; args: SpeakArgs }
  | { kind: 'voices' }
  | { kind: 'pull'; args: PullArgs }
  | { kind: 'quantize'; args: QuantizeArgs }
  | { kind: 'setup'; args: SetupArgs }
  | { kind: 'unavailable'; command: 'serve' | 'worker' };

export interface SpeakArgs {
  /** The text (--text, --file), or codes to decode (--codes FILE: what --format codes wrote). */
  input: { text: string } | { file: string } | { codes: string };
  /** --voice: a preset NAME or profile:NAME. */
  voice?: string;
  /** --ref-audio FILE with --ref-text TEXT: a clip of the voice and what it says. */
  reference?: { file: string; text: string };
  /** --speaker N=VOICE: the voices of a [SPEAKERn] transcript (VOICE as --voice, or description:TEXT). */
  speakers?: Record<string, string | { description: string }>;
  /** As given; resolved against the working directory when written. */
  out: string;
  /** The output format (--format, else --out's extension, else wav). */
  format: ResultFormat;
  /** The request fields set by the flags made from the request table (lib/cli/request-flags.ts), output_format included. */
  fields: Record<string, unknown>;
  /** --json: print the result's report as JSON instead of lines. */
  json: boolean;
}

export interface PullArgs {
  /** Each repository with the revision to pull (a branch, tag or commit; default main). */
  repos: { repo: string; revision: string }[];
  /** --to ROOT, as given (resolved against the working directory); default: the pull cache. */
  to?: string;
}

export interface QuantizeArgs {
  /** The source model directory, as given (resolved against the working directory). */
  modelDir: string;
  /** --to DIR, as given; default: MODEL_DIR-int8 (lib/cli/quantize.ts). */
  to?: string;
}

export interface SetupArgs {
  backend: 'cpu' | 'cuda';
  /** --no-system-packages: name missing Debian packages, never install them. */
  installSystemPackages: boolean;
  /** --jobs N; default: lib/setup/setup.ts defaultJobs(). */
  jobs?: number;
}

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
    case 'quantize':
      return parseQuantize(rest);
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
      ...requestFlagOptions(),
      text: { type: 'string', short: 't' },
      file: { type: 'string', short: 'f' },
      codes: { type: 'string' },
      voice: { type: 'string' },
      'ref-audio': { type: 'string' },
      'ref-text': { type: 'string' },
      speaker: { type: 'string', multiple: true },
      out: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    'speak',
  );
  if (values.help) return { kind: 'help', command: 'speak' };
  const inputs = [values.text, values.file, values.codes].filter((v) => v !== undefined).length;
  if (inputs !== 1) throw new UsageError('give exactly one of --text TEXT or --file FILE (or --codes FILE to decode codes)', 'speak');
  const voices = [values.voice !== undefined && '--voice', values['ref-audio'] !== undefined && '--ref-audio', values.speaker !== undefined && '--speaker'].filter(Boolean);
  if (voices.length > 1) throw new UsageError(`give one of --voice, --ref-audio and --speaker (got ${voices.join(' and ')})`, 'speak');
  if ((values['ref-audio'] === undefined) !== (values['ref-text'] === undefined)) throw new UsageError('--ref-audio FILE and --ref-text TEXT go together', 'speak');
  const format = parseFormat((values as Record<string, unknown>).format as string | undefined, values.out);
  const fields = { ...requestFields(values, 'speak'), output_format: format };
  const input = values.text !== undefined ? { text: values.text } : values.file !== undefined ? { file: values.file } : { codes: values.codes! };
  return {
    kind: 'speak',
    args: {
      input,
      ...(values.voice !== undefined ? { voice: values.voice } : {}),
      ...(values['ref-audio'] !== undefined ? { reference: { file: values['ref-audio'], text: values['ref-text']! } } : {}),
      ...(values.speaker !== undefined ? { speakers: parseSpeakers(values.speaker) } : {}),
      out: values.out ?? defaultOut(format),
      format,
      fields,
      json: values.json === true,
    },
  };
}

/** ./higgs-audio.<format>; G.711 is WAV, codes are JSON. */
function defaultOut(format: ResultFormat): string {
  const base = format in OUTPUT_FORMAT_ALIASES ? OUTPUT_FORMAT_ALIASES[format]!.format : format;
  if (base === CODES_FORMAT) return 'higgs-audio.codes.json';
  return `higgs-audio.${base === 'ulaw' || base === 'alaw' ? `${base}.wav` : base}`;
}

/** --speaker N=VOICE (N or SPEAKERn; VOICE a preset, profile:NAME or description:TEXT), each speaker once. */
function parseSpeakers(words: readonly string[]): Record<string, string | { description: string }> {
  const speakers: Record<string, string | { description: string }> = {};
  for (const word of words) {
    const match = /^((?:SPEAKER)?\d{1,2})=(.+)$/s.exec(word);
    if (!match) throw new UsageError(`--speaker must be N=VOICE, e.g. 0=belinda, 1=profile:NAME or 2=description:TEXT (got ${JSON.stringify(word)})`, 'speak');
    const [, key, voice] = match as unknown as [string, string, string];
    const n = key.replace('SPEAKER', '');
    if (Object.hasOwn(speakers, n)) throw new UsageError(`--speaker ${n} is given twice`, 'speak');
    speakers[n] = voice.startsWith('description:') ? { description: voice.slice('description:'.length) } : voice;
  }
  return speakers;
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

function parseQuantize(rest: readonly string[]): Invocation {
  const { values, positionals } = strict(rest, { to: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, 'quantize', true);
  if (values.help) return { kind: 'help', command: 'quantize' };
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError('give one MODEL_DIR to quantize', 'quantize');
  if (values.to !== undefined && values.to.trim() === '') throw new UsageError('--to needs a directory', 'quantize');
  return { kind: 'quantize', args: { modelDir: positionals[0]!, ...(values.to !== undefined ? { to: values.to } : {}) } };
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

/** --format (a format, an alias such as pcm_16000, or codes), else the --out extension when it names a format, else wav. */
function parseFormat(given: string | undefined, out: string | undefined): ResultFormat {
  if (given !== undefined) {
    const format = given.toLowerCase();
    if (!isFormat(format) && !Object.hasOwn(OUTPUT_FORMAT_ALIASES, format)) {
      throw new UsageError(`--format must be one of ${[...OUTPUT_FORMATS, CODES_FORMAT].join(', ')}, or pcm_16000 and the like (got ${JSON.stringify(given)})`, 'speak');
    }
    return format as ResultFormat;
  }
  const fromOut = out === undefined ? '' : extname(out).slice(1).toLowerCase();
  return isFormat(fromOut) ? fromOut : 'wav';
}

function isFormat(word: string): word is ResultFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(word) || word === CODES_FORMAT;
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
