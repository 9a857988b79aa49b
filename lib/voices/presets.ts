// Adding and removing presets (NAME.wav + NAME.txt) in a voice directory, for the voices API.
// Names pass the same rules as every lookup (paths.ts); files are written to a temporary name and
// renamed, so a reader never sees half a preset; a directory the process may not write gives
// VoicesReadOnlyError (the HTTP layer answers 403).
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { HiggsError } from '../common/errors.js';
import { assertVoiceName, isMissing, locateInside, quoteName, realDirectory } from './paths.js';

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
 * Writes preset `name` (a PCM WAV and its transcript) into `dir`, creating the directory.
 * @throws HiggsError E_INPUT for a bad name or one that exists; VoicesReadOnlyError.
 */
export async function addPreset(dir: string, name: string, wav: Buffer, transcript: string): Promise<void> {
  assertVoiceName(name);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw writeFailure(error);
  }
  const real = (await realDirectory(dir))!;
  for (const ext of ['.wav', '.txt']) {
    if ((await locateInside(real, name + ext)).kind !== 'missing') {
      throw new HiggsError('E_INPUT', `voice ${quoteName(name)} exists already: delete it first`);
    }
  }
  await writeAtomically(real, `${name}.txt`, transcript);
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
  for (const ext of ['.wav', '.txt']) {
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
