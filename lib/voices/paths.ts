// Voice names, voice specs and bounded reads of files that must stay inside the voice directory.
// Names come from requests, so every path is built from a validated name and checked after
// symlink resolution; error messages name the voice, never a path.
import { constants, promises as fs } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { HiggsError } from '../common/errors.js';

/** What a voice or profile name may look like: no dots, slashes or other path syntax. */
export const VOICE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A saved voice's codes beside its WAV (lib/audio/codes-wire.ts JSON): used instead of encoding the WAV. */
export const PRESET_CODES_SUFFIX = '.codes.json';

/** A parsed voice reference string: "profile:NAME" selects a profile.yaml entry, "NAME" a preset. */
export type VoiceSpec = { kind: 'preset'; name: string } | { kind: 'profile'; name: string };

/** `name` quoted for an error message, cut short so that a huge input cannot flood logs. */
export function quoteName(name: unknown): string {
  if (typeof name !== 'string') return `(${typeof name})`;
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
}

/** `name` if it matches VOICE_NAME_PATTERN; otherwise HiggsError E_INPUT. */
export function assertVoiceName(name: unknown, what = 'voice'): string {
  if (typeof name !== 'string' || !VOICE_NAME_PATTERN.test(name)) {
    throw new HiggsError('E_INPUT', `invalid ${what} name ${quoteName(name)}: use 1 to 64 letters, digits, '_' or '-'`);
  }
  return name;
}

/**
 * Parses a voice reference: "profile:NAME" (a description from profile.yaml) or "NAME" (a preset
 * NAME.wav + NAME.txt). Surrounding whitespace is ignored; the name must match VOICE_NAME_PATTERN.
 * @throws HiggsError E_INPUT for anything else.
 */
export function parseVoiceSpec(ref: string): VoiceSpec {
  if (typeof ref !== 'string') throw new HiggsError('E_INPUT', `voice reference must be a string, got ${quoteName(ref)}`);
  const text = ref.trim();
  if (text.startsWith('profile:')) {
    return { kind: 'profile', name: assertVoiceName(text.slice('profile:'.length).trim(), 'voice profile') };
  }
  return { kind: 'preset', name: assertVoiceName(text) };
}

/** realpath of `dir`, or undefined when it does not exist (an empty voice library). */
export async function realDirectory(dir: string): Promise<string | undefined> {
  try {
    const real = await fs.realpath(dir);
    return (await fs.stat(real)).isDirectory() ? real : undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw fsFailure(error, 'the voice directory');
  }
}

/** Where a file of the voice directory really is, or why it cannot be used. */
export type Located = { kind: 'file'; path: string } | { kind: 'missing' } | { kind: 'outside' };

/**
 * Resolves `fileName` (built from a validated name) inside `realDir` (already a realpath). A name
 * whose realpath leaves the directory, e.g. through a symlink, is 'outside'.
 */
export async function locateInside(realDir: string, fileName: string): Promise<Located> {
  let real: string;
  try {
    real = await fs.realpath(join(realDir, fileName));
  } catch (error) {
    if (isMissing(error)) return { kind: 'missing' };
    throw fsFailure(error, 'a file of the voice directory');
  }
  const rel = relative(realDir, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return { kind: 'outside' };
  return { kind: 'file', path: real };
}

/**
 * Reads a regular file of at most `maxBytes` bytes. The size is checked on the open handle before
 * anything is read, and O_NOFOLLOW keeps a symlink swapped in after locateInside from being followed.
 * @param label how errors name the file, e.g. 'voice "belinda" audio'.
 */
export async function readBounded(path: string, maxBytes: number, label: string): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    // ELOOP: the last component became a symlink after it was checked.
    if ((error as { code?: unknown }).code === 'ELOOP') throw new HiggsError('E_INPUT', `${label} is not a regular file`);
    if (isMissing(error)) throw new HiggsError('E_INPUT', `${label} is missing`);
    throw fsFailure(error, label);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new HiggsError('E_INPUT', `${label} is not a regular file`);
    if (info.size > maxBytes) throw new HiggsError('E_INPUT', `${label} is larger than the ${maxBytes}-byte limit`);
    const data = Buffer.alloc(info.size);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) break; // the file shrank while being read: keep what is there
      filled += bytesRead;
    }
    return filled === data.length ? data : data.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/**
 * A file-system error as a HiggsError E_INTERNAL that keeps the errno code but not the path (Node
 * puts paths in its messages); the original stays available as `cause` for server-side logs.
 */
export function fsFailure(error: unknown, label: string): HiggsError {
  if (error instanceof HiggsError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new HiggsError('E_INTERNAL', `${label} cannot be read${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
}

/** ENOENT and friends: the thing is simply not there (or a path component is not a directory). */
export function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
