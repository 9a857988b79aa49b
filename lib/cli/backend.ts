/**
 * What the CLI needs from the library, and the one place it is wired to it. The command handlers
 * see only CliBackend, so switching this file to HiggsAudio (lib/service/higgs-audio.ts) changes nothing else.
 */
import type { HiggsConfig } from '../config/load-config.js';
import { HiggsAudio } from '../service/higgs-audio.js';
import { HiggsError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import type { OutputFormat } from '../request/defaults.js';
import { parseRequest } from '../request/schema.js';
import { VoiceLibrary } from '../voices/library.js';


export interface SpeakProgress {
  phase: 'load' | 'generate';
  /** 0..1 within the phase. */
  fraction: number;
}

export interface SpeakOptions {
  /** A preset voice name or "profile:NAME"; absent: the model picks a voice. */
  voice?: string;
  format: OutputFormat;
  seed?: number;
  scene?: string;
  speed?: number;
  sampleRate?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SpeakProgress) => void;
}

export interface SpeakResult {
  audio: Buffer;
  format: OutputFormat;
  sampleRate: number;
  durationSeconds: number;
  seed: number;
  /** Why each generated chunk stopped ('audio_end' is the model's own end). */
  stopReasons: string[];
  timings: { loadSeconds: number; generateSeconds: number; decodeSeconds: number; encodeSeconds: number };
}

export interface VoiceListing {
  /** Preset voices (NAME.wav + NAME.txt), sorted. */
  presets: string[];
  /** Profile names of profile.yaml, sorted. */
  profiles: string[];
}

export interface CliBackend {
  /** Validates the request speak() would make (its options' bounds), without loading the model. */
  check(text: string, options: SpeakOptions): void;
  speak(text: string, options: SpeakOptions): Promise<SpeakResult>;
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

  check(text: string, options: SpeakOptions): void {
    parseRequest(this.request(text, options));
  }

  async speak(text: string, options: SpeakOptions): Promise<SpeakResult> {
    const request = this.request(text, options);
    const started = performance.now();
    await this.tts.load({
      signal: options.signal,
      onProgress: ({ progress }) => options.onProgress?.({ phase: 'load', fraction: progress }),
    });
    const loadSeconds = (performance.now() - started) / 1e3;
    const result = await this.tts.generate(
      request,
      {
        signal: options.signal,
        onProgress: ({ chunk, chunks, columns, maxColumns }) =>
          options.onProgress?.({ phase: 'generate', fraction: Math.min(1, (chunk + columns / Math.max(1, maxColumns)) / chunks) }),
      },
    );
    return {
      audio: result.audio,
      format: options.format,
      sampleRate: result.sampleRate,
      durationSeconds: result.durationSeconds,
      seed: result.seed,
      stopReasons: result.chunks.map((chunk) => chunk.stopReason),
      timings: {
        loadSeconds,
        generateSeconds: result.timings.generateSeconds,
        decodeSeconds: result.timings.decodeSeconds,
        encodeSeconds: result.timings.encodeSeconds,
      },
    };
  }

  private request(text: string, options: SpeakOptions) {
    return {
      transcript: text,
      ref_audio: options.voice,
      scene_prompt: options.scene,
      seed: options.seed,
      output_format: options.format,
      speed: options.speed,
      sample_rate: options.sampleRate,
      ...(this.config.sources.modelDir === 'bundled' ? { max_new_tokens: TINY_MODEL_MAX_FRAMES } : {}),
    };
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
