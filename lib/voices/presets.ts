// Adding and removing presets (NAME.wav + NAME.txt, and NAME.codes.json for a saved voice) in a
// voice directory, for the voices API and save_voice.
// Names pass the same rules as every lookup (paths.ts); files are written to a temporary name and
// renamed, so a reader never sees half a preset; a directory the process may not write gives
// VoicesReadOnlyError (the HTTP layer answers 403).
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { HiggsError } from '../common/errors.js';
import { PRESET_CODES_SUFFIX, assertVoiceName, isMissing, locateInside, quoteName, realDirectory } from './paths.js';

/** Every file a preset may have. */
const PRESET_FILES = ['.wav', '.txt', PRESET_CODES_SUFFIX];

/** The voice directory cannot be written (read-only mount, permissions). Code E_INPUT. */
export class VoicesReadOnlyError extends HiggsError {
  constructor(options?: { cause?: unknown }) {
    super('E_INPUT', 'the voices directory is read-only here: presets cannot be added or removed', options);
    this.name = 'VoicesReadOnlyError';
  }
}

function writeFailure(error: unknown): HiggsError {
  if (error instanceof HiggsError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return new VoicesReadOnlyError({ cause: error });
  return new HiggsError('E_INTERNAL', `the voices directory cannot be written${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
}

async function writeAtomically(dir: string, file: string, bytes: Buffer | string): Promise<void> {
  const temporary = join(dir, `.${file}.${randomUUID()}.tmp`);
  try {
    await fs.writeFile(temporary, bytes, { flag: 'wx' });
    await fs.rename(temporary, join(dir, file));
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw writeFailure(error);
  }
}

/**
 * The voice directory (created), checked to be writable and free of a preset `name`; what a
 * request that will save a voice checks before its work.
 * @throws HiggsError E_INPUT for a bad name or one that exists; VoicesReadOnlyError.
 */
export async function presetSlot(dir: string, name: string): Promise<string> {
  assertVoiceName(name);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw writeFailure(error);
  }
  const real = (await realDirectory(dir))!;
  for (const ext of PRESET_FILES) {
    if ((await locateInside(real, name + ext)).kind !== 'missing') {
      throw new HiggsError('E_INPUT', `voice ${quoteName(name)} exists already: delete it first`);
    }
  }
  // Root passes every permission check, and a read-only mount shows only on a write: so write.
  const probe = join(real, `.probe-${randomUUID()}`);
  try {
    await fs.writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    throw writeFailure(error);
  }
  await fs.rm(probe, { force: true });
  return real;
}

/**
 * Writes preset `name` (a PCM WAV and its transcript, and its codes when they are known and must
 * not be re-encoded) into `dir`, creating the directory.
 * @throws HiggsError E_INPUT for a bad name or one that exists; VoicesReadOnlyError.
 */
export async function addPreset(dir: string, name: string, wav: Buffer, transcript: string, codesJson?: string): Promise<void> {
  const real = await presetSlot(dir, name);
  await writeAtomically(real, `${name}.txt`, transcript);
  if (codesJson !== undefined) await writeAtomically(real, name + PRESET_CODES_SUFFIX, codesJson);
  await writeAtomically(real, `${name}.wav`, wav); // last: a preset is listed once its WAV is there
}

/**
 * Removes preset `name` from `dir`. Returns false when there is no such preset.
 * @throws HiggsError E_INPUT for a bad name or a file outside the directory; VoicesReadOnlyError.
 */
export async function removePreset(dir: string, name: string): Promise<boolean> {
  assertVoiceName(name);
  const real = await realDirectory(dir);
  if (!real) return false;
  let removed = false;
  for (const ext of PRESET_FILES) {
    const found = await locateInside(real, name + ext);
    if (found.kind === 'outside') throw new HiggsError('E_INPUT', `voice ${quoteName(name)} points outside the voice directory`);
    if (found.kind === 'missing') continue;
    try {
      await fs.unlink(join(real, name + ext)); // the link itself, never what it points to
      removed = true;
    } catch (error) {
      if (!isMissing(error)) throw writeFailure(error);
    }
  }
  return removed;
}
