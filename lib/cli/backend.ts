/**
 * What the CLI needs from the library, and the one place it is wired to it. The command handlers
 * see only CliBackend, so switching this file to HiggsAudio (lib/service/higgs-audio.ts) changes nothing else.
 */
import type { HiggsConfig } from '../config/load-config.js';
import { HiggsAudio, type GenerateOutput } from '../service/higgs-audio.js';
import { HiggsError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { isDecodeRequest, parseDecodeRequest, parseRequest, type ResultFormat } from '../request/schema.js';
import type { ChunkReport } from '../speech/synthesis.js';
import { VoiceLibrary } from '../voices/library.js';


export interface SpeakProgress {
  phase: 'load' | 'generate';
  /** 0..1 within the phase. */
  fraction: number;
}

export interface SpeakHooks {
  signal?: AbortSignal;
  onProgress?: (progress: SpeakProgress) => void;
}

export interface SpeakResult {
  /** The file's bytes (output_format "codes": the codes' JSON). */
  audio: Buffer;
  format: ResultFormat;
  sampleRate: number;
  durationSeconds: number;
  /** null for a decode-only request. */
  seed: number | null;
  resultHash: string;
  /** One report per generated chunk (none for a decode-only request): its text, frames, why it stopped, where it lies. */
  chunks: ChunkReport[];
  truncated: boolean;
  timings: { loadSeconds: number; generateSeconds: number; decodeSeconds: number; encodeSeconds: number };
}

export interface VoiceListing {
  /** Preset voices (NAME.wav + NAME.txt), sorted. */
  presets: string[];
  /** Profile names of profile.yaml, sorted. */
  profiles: string[];
}

export interface CliBackend {
  /** Validates a request (a HiggsAudio request: text, or codes to decode) without loading the model. */
  check(request: Record<string, unknown>): void;
  speak(request: Record<string, unknown>, hooks: SpeakHooks): Promise<SpeakResult>;
  /** Needs no model: the CLI also uses it to reject an unknown voice before loading one. */
  listVoices(): Promise<VoiceListing>;
  dispose(): Promise<void>;
}

export function createCliBackend(config: HiggsConfig): CliBackend {
  return new LibraryBackend(config);
}

/** The bundled tiny random model rarely ends its audio: cap it as the demo does, the output is noise anyway. */
const TINY_MODEL_MAX_FRAMES = 100;

/** The CLI on top of HiggsAudio: the same validation, voices and pipeline as every other entry point. */
class LibraryBackend implements CliBackend {
  private readonly tts: HiggsAudio;

  constructor(private readonly config: HiggsConfig) {
    // Logs go to stderr (fd 2) so that stdout carries only the CLI's own result lines.
    const logger = createLogger({ level: process.env.HIGGS_DEBUG === '1' ? 'debug' : 'silent', destination: pinoStderr() });
    this.tts = new HiggsAudio({ config, logger });
  }

  check(request: Record<string, unknown>): void {
    if (isDecodeRequest(request)) parseDecodeRequest(request);
    else parseRequest(this.withTinyCap(request));
  }

  async speak(request: Record<string, unknown>, hooks: SpeakHooks): Promise<SpeakResult> {
    const started = performance.now();
    await this.tts.load({
      signal: hooks.signal,
      onProgress: ({ progress }) => hooks.onProgress?.({ phase: 'load', fraction: progress }),
    });
    const loadSeconds = (performance.now() - started) / 1e3;
    const options = {
      signal: hooks.signal,
      onProgress: ({ chunk, chunks, columns, maxColumns }: { chunk: number; chunks: number; columns: number; maxColumns: number }) =>
        hooks.onProgress?.({ phase: 'generate', fraction: Math.min(1, (chunk + columns / Math.max(1, maxColumns)) / chunks) }),
    };
    const result = isDecodeRequest(request) ? await this.tts.decode(request, options) : await this.tts.generate(this.withTinyCap(request), options);
    const generated = 'chunks' in result ? (result as GenerateOutput) : null;
    return {
      audio: result.audio,
      format: result.format,
      sampleRate: result.sampleRate,
      durationSeconds: result.durationSeconds,
      seed: generated?.seed ?? null,
      resultHash: result.resultHash,
      chunks: generated?.chunks ?? [],
      truncated: generated?.truncated ?? false,
      timings: {
        loadSeconds,
        generateSeconds: result.timings.generateSeconds,
        decodeSeconds: result.timings.decodeSeconds,
        encodeSeconds: result.timings.encodeSeconds,
      },
    };
  }

  /** The bundled tiny model's frame cap, unless the request sets max_new_tokens itself. */
  private withTinyCap(request: Record<string, unknown>): Record<string, unknown> {
    if (this.config.sources.modelDir !== 'bundled' || request.max_new_tokens !== undefined) return request;
    return { ...request, max_new_tokens: TINY_MODEL_MAX_FRAMES };
  }

  async listVoices(): Promise<VoiceListing> {
    const dir = this.config.voicesDir;
    if (dir === null) return { presets: [], profiles: [] };
    // Listing encodes nothing, so no model or codec is needed.
    const library = new VoiceLibrary({
      dir,
      codecId: 'listing',
      encode: () => Promise.reject(new HiggsError('E_INTERNAL', 'listing voices encodes nothing')),
    });
    const [presets, profiles] = await Promise.all([library.list(), library.profiles()]);
    return { presets, profiles };
  }

  dispose(): Promise<void> {
    return this.tts.dispose();
  }
}

function pinoStderr(): { write: (line: string) => void } {
  return { write: (line: string) => void process.stderr.write(line) };
}
