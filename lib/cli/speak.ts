/**
 * `higgs-audio speak`: read the text (or codes to decode), make the request from the flags,
 * check it, the voice and the output folder before the (slow) model load, synthesize, write the
 * file, and report where it is (as lines, or with --json the result's report).
 */
import { open, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SpeakArgs } from './args.js';
import type { CliBackend, SpeakResult, VoiceListing } from './backend.js';
import { MAX_WIRE_FRAMES } from '../audio/codes-wire.js';
import { DEFAULT_NUM_CODEBOOKS } from '../audio/delay-pattern.js';
import { MAX_INLINE_AUDIO_BYTES } from '../request/defaults.js';
import { chunkSpan } from '../speech/timestamps.js';
import { createProgress, type ProgressStream } from './progress.js';
import type { HiggsConfig } from '../config/load-config.js';
import { HiggsError } from '../common/errors.js';
import { parseVoiceSpec } from '../voices/library.js';

/** A transcript file beyond this is refused unread (a mistaken path to audio or a dump). */
export const MAX_TEXT_FILE_BYTES = 1024 * 1024;
/** A codes file holds at most MAX_WIRE_FRAMES frames of the codebooks as base64 int16 (1.3 MB), plus its JSON. */
const MAX_CODES_FILE_BYTES = Math.ceil((MAX_WIRE_FRAMES * DEFAULT_NUM_CODEBOOKS * 2 * 4) / 3) + 64 * 1024;

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
  const request = await buildRequest(args, io);
  if (args.voice !== undefined) await checkVoice(args.voice, backend, config);
  const out = resolve(io.cwd, args.out);
  await checkOutputFolder(out);
  backend.check(request);

  const progress = createProgress(io.stderr, io.bar);
  if (config.sources.modelDir === 'bundled') {
    progress.note('note: using the bundled tiny random model (run `higgs-audio pull`, or set HIGGS_MODEL_DIR and HIGGS_CODEC_DIR to real weights): the audio is noise');
  }
  let result;
  try {
    result = await backend.speak(request, { signal: io.signal, onProgress: ({ phase, fraction }) => progress.update(phase, fraction) });
  } finally {
    progress.finish();
  }
  try {
    await writeFile(out, result.audio);
  } catch (error) {
    throw new HiggsError('E_INPUT', `cannot write ${out}: ${errnoText(error)}`, { cause: error });
  }
  io.stdout.write(args.json ? `${JSON.stringify(report(out, result), null, 2)}\n` : summaryLines(out, result));
}

/** The library request the flags make: the text or the codes, the voice, and the fields of the request table. */
async function buildRequest(args: SpeakArgs, io: SpeakIO): Promise<Record<string, unknown>> {
  if ('codes' in args.input) {
    const text = decode(await readBounded(args.input.codes, MAX_CODES_FILE_BYTES, '--codes', io), args.input.codes);
    let codes: unknown;
    try {
      codes = JSON.parse(text);
    } catch {
      throw new HiggsError('E_INPUT', `--codes ${args.input.codes} is not JSON (give a file that --format codes wrote)`);
    }
    return { ...args.fields, codes };
  }
  const text = 'text' in args.input ? args.input.text : decode(await readBounded(args.input.file, MAX_TEXT_FILE_BYTES, '--file', io), args.input.file === '-' ? 'standard input' : resolve(io.cwd, args.input.file));
  if (text.trim() === '') throw new HiggsError('E_INPUT', 'the text to speak is empty');
  const request: Record<string, unknown> = { ...args.fields, transcript: text };
  if (args.voice !== undefined) request.ref_audio = args.voice;
  if (args.reference) {
    const clip = await readBounded(args.reference.file, MAX_INLINE_AUDIO_BYTES, '--ref-audio', io);
    request.ref_audio = { base64: clip.toString('base64'), transcript: args.reference.text };
  }
  if (args.speakers) request.speakers = args.speakers;
  return request;
}

/** What --json prints: the file and the result's report, in the wire's names. */
function report(out: string, result: SpeakResult): Record<string, unknown> {
  return {
    file: out,
    format: result.format,
    sample_rate: result.sampleRate,
    duration_seconds: result.durationSeconds,
    bytes: result.audio.length,
    seed: result.seed,
    result_hash: result.resultHash,
    truncated: result.truncated,
    chunks: result.chunks.map((chunk) => ({
      text: chunk.text,
      frames: chunk.frames,
      stop_reason: chunk.stopReason,
      ...chunkSpan(chunk),
      history_chunks: chunk.historyChunks,
      prefill_seconds: chunk.prefillSeconds,
      decode_seconds: chunk.decodeSeconds,
    })),
    timings: {
      load_seconds: result.timings.loadSeconds,
      generate_seconds: result.timings.generateSeconds,
      decode_seconds: result.timings.decodeSeconds,
      encode_seconds: result.timings.encodeSeconds,
    },
  };
}

function summaryLines(out: string, result: SpeakResult): string {
  const t = result.timings;
  const seed = result.seed === null ? 'decoded' : `seed ${result.seed}`;
  return (
    `${out}\n` +
    `duration: ${result.durationSeconds.toFixed(2)} s (${result.sampleRate} Hz ${result.format}, ${result.audio.length} bytes, ${seed})\n` +
    `timings: load ${secs(t.loadSeconds)}, generate ${secs(t.generateSeconds)}, decode ${secs(t.decodeSeconds)}, encode ${secs(t.encodeSeconds)}\n` +
    `${chunkLine(result.chunks.map((chunk) => chunk.stopReason))}\n`
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

/** A file's bytes (for '-', standard input), at most `limit` bytes; `flag` names it in errors. */
async function readBounded(file: string, limit: number, flag: string, io: SpeakIO): Promise<Buffer> {
  if (file === '-') return readBoundedStream(io.stdin, limit);
  const path = resolve(io.cwd, file);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new HiggsError('E_INPUT', `cannot read ${flag} ${path}: ${errnoText(error)}`, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new HiggsError('E_INPUT', `${flag} ${path} is not a regular file`);
    if (info.size > limit) throw new HiggsError('E_INPUT', `${flag} ${path} is larger than ${limit} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function readBoundedStream(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const part = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += part.length;
    if (size > limit) throw new HiggsError('E_INPUT', `standard input is larger than ${limit} bytes`);
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
