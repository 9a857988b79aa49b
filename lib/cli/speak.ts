/**
 * `higgs-audio speak`: read the text, check the voice and the output folder before the (slow)
 * model load, synthesize, write the file, and report where it is.
 */
import { open, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SpeakArgs } from './args.js';
import type { CliBackend, VoiceListing } from './backend.js';
import { createProgress, type ProgressStream } from './progress.js';
import type { HiggsConfig } from '../config/load-config.js';
import { HiggsError } from '../common/errors.js';
import { parseVoiceSpec } from '../voices/library.js';

/** A transcript file beyond this is refused unread (a mistaken path to audio or a dump). */
export const MAX_TEXT_FILE_BYTES = 1024 * 1024;

export interface SpeakIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  stdin: NodeJS.ReadableStream;
  cwd: string;
  /** Draw a progress bar (stderr is a terminal) rather than plain lines. */
  bar: boolean;
  signal?: AbortSignal;
}

export async function speak(args: SpeakArgs, config: HiggsConfig, backend: CliBackend, io: SpeakIO): Promise<void> {
  const text = 'text' in args.input ? args.input.text : await readText(args.input.file, io);
  if (text.trim() === '') throw new HiggsError('E_INPUT', 'the text to speak is empty');
  if (args.voice !== undefined) await checkVoice(args.voice, backend, config);
  const out = resolve(io.cwd, args.out);
  await checkOutputFolder(out);
  const options = {
    voice: args.voice,
    format: args.format,
    seed: args.seed,
    scene: args.scene,
    speed: args.speed,
    sampleRate: args.sampleRate,
    signal: io.signal,
  };
  backend.check(text, options);

  const progress = createProgress(io.stderr, io.bar);
  if (config.sources.modelDir === 'bundled') {
    progress.note('note: using the bundled tiny random model (run `higgs-audio pull`, or set HIGGS_MODEL_DIR and HIGGS_CODEC_DIR to real weights): the audio is noise');
  }
  let result;
  try {
    result = await backend.speak(text, { ...options, onProgress: ({ phase, fraction }) => progress.update(phase, fraction) });
  } finally {
    progress.finish();
  }
  try {
    await writeFile(out, result.audio);
  } catch (error) {
    throw new HiggsError('E_INPUT', `cannot write ${out}: ${errnoText(error)}`, { cause: error });
  }
  const t = result.timings;
  io.stdout.write(
    `${out}\n` +
      `duration: ${result.durationSeconds.toFixed(2)} s (${result.sampleRate} Hz ${result.format}, ${result.audio.length} bytes, seed ${result.seed})\n` +
      `timings: load ${secs(t.loadSeconds)}, generate ${secs(t.generateSeconds)}, decode ${secs(t.decodeSeconds)}, encode ${secs(t.encodeSeconds)}\n` +
      `${chunkLine(result.stopReasons)}\n`,
  );
}

/** "chunks: 3", and which stopped at a cap instead of the model's end of audio. */
function chunkLine(stopReasons: readonly string[]): string {
  const capped = stopReasons.filter((reason) => reason !== 'audio_end');
  if (capped.length === 0) return `chunks: ${stopReasons.length}`;
  return `chunks: ${stopReasons.length}, truncated: ${capped.length} stopped at a cap (${[...new Set(capped)].join(', ')}), the speech may end early`;
}

/** A voice that does not exist fails here, in a second, instead of after loading the model. */
async function checkVoice(ref: string, backend: CliBackend, config: HiggsConfig): Promise<void> {
  const spec = parseVoiceSpec(ref);
  if (config.voicesDir === null) {
    throw new HiggsError('E_INPUT', `unknown voice ${JSON.stringify(ref)}: no voice directory is configured (set HIGGS_VOICES_DIR)`);
  }
  const listing: VoiceListing = await backend.listVoices();
  const known = spec.kind === 'preset' ? listing.presets : listing.profiles;
  if (known.includes(spec.name)) return;
  const all = [...listing.presets, ...listing.profiles.map((name) => `profile:${name}`)];
  const kind = spec.kind === 'preset' ? 'voice' : 'voice profile';
  throw new HiggsError(
    'E_INPUT',
    `unknown ${kind} ${JSON.stringify(spec.name)} (${all.length ? `available: ${all.join(', ')}` : 'the voice directory has none'})`,
  );
}

async function checkOutputFolder(out: string): Promise<void> {
  const folder = dirname(out);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new HiggsError('E_INPUT', `cannot write ${out}: the folder ${folder} does not exist`);
}

/** The transcript of --file: a UTF-8 file or, for '-', standard input; bounded either way. */
async function readText(file: string, io: SpeakIO): Promise<string> {
  if (file === '-') return decode(await readBoundedStream(io.stdin), 'standard input');
  const path = resolve(io.cwd, file);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new HiggsError('E_INPUT', `cannot read --file ${path}: ${errnoText(error)}`, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new HiggsError('E_INPUT', `--file ${path} is not a regular file`);
    if (info.size > MAX_TEXT_FILE_BYTES) throw new HiggsError('E_INPUT', `--file ${path} is larger than ${MAX_TEXT_FILE_BYTES} bytes`);
    return decode(await handle.readFile(), path);
  } finally {
    await handle.close();
  }
}

async function readBoundedStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const part = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += part.length;
    if (size > MAX_TEXT_FILE_BYTES) throw new HiggsError('E_INPUT', `standard input is larger than ${MAX_TEXT_FILE_BYTES} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

function decode(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HiggsError('E_INPUT', `${what} is not UTF-8 text`);
  }
}

function errnoText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : (error as Error)?.message ?? String(error);
}

function secs(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}
