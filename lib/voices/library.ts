// Reference voices: presets (NAME.wav + NAME.txt) and profiles (profile.yaml) from a voice
// directory, and inline base64 clips, resolved to codec codes through a memory + disk cache.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_AUDIO_LIMITS } from '../audio/limits.js';
import { HiggsError } from '../common/errors.js';
import type { VoiceReference } from '../text/prompt/types.js';
import { decodeBase64Strict } from '../common/base64.js';
import { CodeCache, type VoiceEncoder } from './cache.js';
import { MAX_VOICE_CODE_FRAMES, codesWireProblem, wireToCodes, type CodesWire } from '../audio/codes-wire.js';
import {
  PRESET_CODES_SUFFIX,
  VOICE_NAME_PATTERN,
  assertVoiceName,
  fsFailure,
  locateInside,
  parseVoiceSpec,
  quoteName,
  readBounded,
  realDirectory,
  type VoiceSpec,
} from './paths.js';
import { parseProfiles } from './profiles.js';
import { cleanText, decodeUtf8 } from './transcript.js';

export { VOICE_NAME_PATTERN, parseVoiceSpec } from './paths.js';
export type { VoiceSpec } from './paths.js';
export { cacheFileName } from './cache.js';
export type { VoiceEncoder } from './cache.js';

/** Default bound on a preset WAV and on decoded inline audio (lib/audio/limits.ts). */
export const DEFAULT_MAX_AUDIO_BYTES = REFERENCE_AUDIO_LIMITS.maxBytes;
/** Default bound on a transcript or profile description, in characters. */
export const DEFAULT_MAX_TRANSCRIPT_CHARS = 2000;
/** Code files kept on disk: a 60 s clip is about 50 KB of JSON, so thousands of clips. */
export const DEFAULT_MAX_CACHE_BYTES = 256 * 1024 * 1024;
/** The profile file of a voice directory. */
export const PROFILE_FILE = 'profile.yaml';
const MAX_PROFILE_FILE_BYTES = 1024 * 1024;

export interface VoiceLibraryOptions {
  /** The voice directory: NAME.wav + NAME.txt pairs and an optional profile.yaml. May not exist yet (no voices). */
  dir: string;
  /** The codec encoder (audio file bytes -> codes [8][T]). */
  encode: VoiceEncoder;
  /** Identifies the codec weights, e.g. a hash of them; part of every cache key. */
  codecId: string;
  /** Disk cache of encoded codes; default DIR/.cache. Write failures only cost a re-encode. */
  cacheDir?: string;
  /** Largest preset WAV read, in bytes (checked before reading); default 20 MB. */
  maxAudioBytes?: number;
  /** Largest decoded inline audio, in bytes (checked before decoding); default 20 MB. */
  maxInlineBytes?: number;
  /** Longest transcript or profile description, in characters; default 2000. */
  maxTranscriptChars?: number;
  /** Codebooks per frame; default 8. */
  numCodebooks?: number;
  /** Codes per codebook; default 1024 (values 0..1023). */
  codebookSize?: number;
  /** Clips whose codes are kept in memory (least recently used dropped first); default 256. */
  maxMemoryEntries?: number;
  /** Bytes of code files kept in cacheDir (least recently used deleted first); default 256 MiB, thousands of clips. */
  maxCacheBytes?: number;
  /** Told about cache files that could not be read or written; the library carries on without them. */
  onCacheError?: (error: unknown) => void;
  /** Told of each code cache lookup: true for a hit (memory or disk), false for an encode. */
  onCacheLookup?: (hit: boolean) => void;
}

/** A preset voice with its codes. */
export interface ResolvedVoice {
  name: string;
  /** NAME.txt, trimmed. */
  transcript: string;
  /** Codec codes [numCodebooks][T] of NAME.wav. */
  codes: number[][];
}

/** An inline clip with its codes. */
export interface InlineVoice {
  /** The given transcript, trimmed; undefined when none (or only whitespace) was given. */
  transcript: string | undefined;
  codes: number[][];
}

/**
 * The reference voices of one voice directory and one codec. Names are validated
 * (VOICE_NAME_PATTERN) and every file must resolve, symlinks followed, inside the directory.
 * Codes are cached in memory and under cacheDir, keyed by sha256 of the audio bytes and codecId.
 * All failures a request can cause are HiggsError E_INPUT; messages name the voice, not paths.
 */
export class VoiceLibrary {
  readonly dir: string;
  readonly cacheDir: string;
  private readonly cache: CodeCache;
  private readonly maxAudioBytes: number;
  private readonly maxInlineBytes: number;
  private readonly maxChars: number;
  private readonly codecId: string;
  private readonly onCacheError: ((error: unknown) => void) | undefined;

  constructor(options: VoiceLibraryOptions) {
    if (typeof options.encode !== 'function') throw new TypeError('VoiceLibrary: encode must be a function');
    if (typeof options.codecId !== 'string' || options.codecId === '') throw new TypeError('VoiceLibrary: codecId must be a non-empty string');
    this.dir = options.dir;
    this.codecId = options.codecId;
    this.onCacheError = options.onCacheError;
    this.cacheDir = options.cacheDir ?? join(options.dir, '.cache');
    this.maxAudioBytes = positive(options.maxAudioBytes, DEFAULT_MAX_AUDIO_BYTES, 'maxAudioBytes');
    this.maxInlineBytes = positive(options.maxInlineBytes, DEFAULT_MAX_AUDIO_BYTES, 'maxInlineBytes');
    this.maxChars = positive(options.maxTranscriptChars, DEFAULT_MAX_TRANSCRIPT_CHARS, 'maxTranscriptChars');
    this.cache = new CodeCache(options.encode, {
      codecId: options.codecId,
      cacheDir: this.cacheDir,
      numCodebooks: positive(options.numCodebooks, 8, 'numCodebooks'),
      codebookSize: positive(options.codebookSize, 1024, 'codebookSize'),
      maxMemoryEntries: positive(options.maxMemoryEntries, 256, 'maxMemoryEntries'),
      maxDiskBytes: positive(options.maxCacheBytes, DEFAULT_MAX_CACHE_BYTES, 'maxCacheBytes'),
      onCacheError: options.onCacheError,
      onLookup: options.onCacheLookup,
    });
  }

  /** Names of the presets that have both NAME.wav and NAME.txt inside the directory, sorted. */
  async list(): Promise<string[]> {
    const dir = await realDirectory(this.dir);
    if (!dir) return [];
    let files: Set<string>;
    try {
      files = new Set(await fs.readdir(dir));
    } catch (error) {
      throw fsFailure(error, 'the voice directory');
    }
    const names: string[] = [];
    for (const file of files) {
      const name = file.endsWith('.wav') ? file.slice(0, -4) : '';
      if (!VOICE_NAME_PATTERN.test(name) || !files.has(`${name}.txt`)) continue;
      const [wav, txt] = await Promise.all([locateInside(dir, file), locateInside(dir, `${name}.txt`)]);
      if (wav.kind === 'file' && txt.kind === 'file') names.push(name);
    }
    return names.sort();
  }

  /**
   * The preset `name`: its transcript and the codes of its audio (encoded once per codec).
   * @throws HiggsError E_INPUT for an invalid name, an unknown voice, a file outside the directory,
   *   an oversized WAV, or a transcript that is empty, too long or not UTF-8.
   */
  async resolve(name: string): Promise<ResolvedVoice> {
    assertVoiceName(name);
    const dir = await realDirectory(this.dir);
    if (!dir) throw unknownVoice(name);
    const [wav, txt] = await Promise.all([this.voiceFile(dir, name, '.wav'), this.voiceFile(dir, name, '.txt')]);
    const label = `voice ${quoteName(name)}`;
    const [audio, text] = await Promise.all([
      readBounded(wav, this.maxAudioBytes, `${label} audio`),
      readBounded(txt, 4 * this.maxChars + 4096, `${label} transcript`),
    ]);
    const transcript = cleanText(decodeUtf8(text, `${label} transcript`), this.maxChars, `${label} transcript`);
    const saved = await this.savedCodes(dir, name);
    return { name, transcript, codes: saved ?? (await this.cache.codes(audio)) };
  }

  /**
   * The codes of audio file bytes, through the shared cache: what a preset stored with exactly
   * these bytes as its WAV resolves to. The voices API encodes an upload with it before storing it.
   * @throws the encoder's error (E_INPUT for audio it cannot use).
   */
  async clipCodes(audio: Buffer): Promise<number[][]> {
    return this.cache.codes(audio);
  }

  /**
   * A saved voice's own codes (NAME.codes.json, written by save_voice): used as they are, so the
   * voice is exactly the generated speech. Absent, of another codec or damaged (reported to
   * onCacheError): undefined, and the WAV is encoded instead.
   */
  private async savedCodes(dir: string, name: string): Promise<number[][] | undefined> {
    const found = await locateInside(dir, name + PRESET_CODES_SUFFIX);
    if (found.kind !== 'file') return undefined;
    try {
      const wire = JSON.parse((await readBounded(found.path, 64 * MAX_VOICE_CODE_FRAMES + 4096, `voice ${quoteName(name)} codes`)).toString('utf8')) as unknown;
      const problem = codesWireProblem(wire, MAX_VOICE_CODE_FRAMES);
      if (problem) throw new HiggsError('E_INPUT', `voice ${quoteName(name)} codes: ${problem}`);
      if ((wire as CodesWire).codec !== this.codecId) return undefined; // made by another codec: its WAV still works
      return wireToCodes(wire as CodesWire);
    } catch (error) {
      this.onCacheError?.(error);
      return undefined;
    }
  }

  /**
   * The description of profile `name` from profile.yaml (`profiles: { name: description }`).
   * @throws HiggsError E_INPUT for an invalid or unknown name, or an invalid profile.yaml.
   */
  async profile(name: string): Promise<string> {
    assertVoiceName(name, 'voice profile');
    const description = (await this.readProfiles()).get(name);
    if (description === undefined) throw new HiggsError('E_INPUT', `unknown voice profile ${quoteName(name)}`);
    return description;
  }

  /** Names in profile.yaml, sorted; none when the file is absent. */
  async profiles(): Promise<string[]> {
    return [...(await this.readProfiles()).keys()].sort();
  }

  /**
   * An inline reference clip: strict base64 of an audio file (bounded by maxInlineBytes) and an
   * optional transcript. Shares the code cache with the presets.
   * @throws HiggsError E_INPUT for bad base64, oversized audio or an over-long transcript.
   */
  async inline(input: { base64: string; transcript?: string }): Promise<InlineVoice> {
    if (typeof input !== 'object' || input === null) throw new HiggsError('E_INPUT', 'inline voice must be an object { base64, transcript? }');
    const audio = decodeBase64Strict(input.base64, this.maxInlineBytes);
    const given = input.transcript;
    const transcript = given === undefined || (typeof given === 'string' && given.trim() === '')
      ? undefined
      : cleanText(given, this.maxChars, 'inline voice transcript');
    return { transcript, codes: await this.cache.codes(audio) };
  }

  /**
   * The prompt voice for a named voice (a reference string such as "en_man" or "profile:NAME",
   * see parseVoiceSpec, or one already parsed): a profile description or a preset clip with its
   * transcript. The one resolver of named voices; requests reach it through resolveVoices.
   */
  async reference(ref: string | VoiceSpec): Promise<VoiceReference> {
    const spec = typeof ref === 'string' ? parseVoiceSpec(ref) : ref;
    if (spec.kind === 'profile') return { type: 'profile', description: await this.profile(spec.name) };
    const voice = await this.resolve(spec.name);
    return { type: 'clip', codes: voice.codes, transcript: voice.transcript };
  }

  private async voiceFile(dir: string, name: string, ext: '.wav' | '.txt'): Promise<string> {
    const found = await locateInside(dir, name + ext);
    if (found.kind === 'missing') throw unknownVoice(name);
    if (found.kind === 'outside') throw new HiggsError('E_INPUT', `voice ${quoteName(name)} points outside the voice directory`);
    return found.path;
  }

  private async readProfiles(): Promise<Map<string, string>> {
    const dir = await realDirectory(this.dir);
    if (!dir) return new Map();
    const found = await locateInside(dir, PROFILE_FILE);
    if (found.kind === 'missing') return new Map();
    if (found.kind === 'outside') throw new HiggsError('E_INPUT', `${PROFILE_FILE} points outside the voice directory`);
    const bytes = await readBounded(found.path, MAX_PROFILE_FILE_BYTES, PROFILE_FILE);
    return parseProfiles(decodeUtf8(bytes, PROFILE_FILE), this.maxChars);
  }
}

function unknownVoice(name: string): HiggsError {
  return new HiggsError('E_INPUT', `unknown voice ${quoteName(name)}`);
}

function positive(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`VoiceLibrary: ${what} must be a positive integer`);
  return value;
}
