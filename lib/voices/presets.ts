// Adding and removing presets (NAME.wav + NAME.txt, and NAME.codes.json for a saved voice) in a
// voice directory, for the voices API and save_voice. Names pass the same rules as every lookup
// (paths.ts); a directory the process may not write gives VoicesReadOnlyError (the HTTP layer
// answers 403).
//
// A name is claimed atomically: NAME.txt is created exclusively (O_EXCL), and whoever created it
// owns the name. Only the owner writes NAME.codes.json (exclusively too) and then publishes
// NAME.wav, written complete under a temporary name and hard-linked into place (a link never
// replaces a file; rename would). A preset lists once its WAV is there, so every listed preset's
// files come from one writer. A writer that cannot finish removes only the files it created.
// Removal takes the WAV first (the preset stops listing) and the transcript last (the name is
// free only when nothing of the preset is left). Inside one process, adding and removing a name
// also take turns (name-lock.ts), so a removal never lands between a claim and its publish.
// Processes sharing one directory get the claim but not the turns: a removal in one, during a
// write in another, can leave that write's WAV alone (it does not list; removing it again clears).
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { HiggsError } from '../common/errors.js';
import { withNameLock } from './name-lock.js';
import { PRESET_CODES_SUFFIX, assertVoiceName, isMissing, locateInside, quoteName, realDirectory } from './paths.js';

/** Every file a preset may have, in the order a removal takes them (see above). */
const PRESET_FILES = ['.wav', PRESET_CODES_SUFFIX, '.txt'];

/** Errors of link(2) on a file system without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** The name is taken: a preset (or part of one) of that name exists. Code E_INPUT. */
export class VoiceTakenError extends HiggsError {
  constructor(name: string) {
    super('E_INPUT', `voice ${quoteName(name)} exists already: delete it first`);
    this.name = 'VoiceTakenError';
  }
}

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

/**
 * The voice directory (created), checked to be writable and free of a preset `name`; what a
 * request that will save a voice checks before its work.
 * @throws HiggsError E_INPUT for a bad name; VoiceTakenError; VoicesReadOnlyError.
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
    if ((await locateInside(real, name + ext)).kind !== 'missing') throw new VoiceTakenError(name);
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
 * not be re-encoded) into `dir`, creating the directory. Of concurrent writers of one name exactly
 * one succeeds; the others get VoiceTakenError and leave nothing behind.
 * @throws HiggsError E_INPUT for a bad name; VoiceTakenError; VoicesReadOnlyError.
 */
export async function addPreset(dir: string, name: string, wav: Buffer, transcript: string, codesJson?: string): Promise<void> {
  const real = await presetSlot(dir, name);
  await withNameLock(lockKey(real, name), () => publishPreset(real, name, wav, transcript, codesJson));
}

/** A file this writer created, known by its inode, so that undoing never removes another's. */
interface Created {
  path: string;
  ino: number;
}

async function publishPreset(real: string, name: string, wav: Buffer, transcript: string, codesJson: string | undefined): Promise<void> {
  const created: Created[] = [];
  const wavTemp = join(real, `.${name}.wav.${randomUUID()}.tmp`);
  try {
    created.push(await createExclusive(wavTemp, wav, name));
    created.push(await createExclusive(join(real, `${name}.txt`), transcript, name)); // the claim
    if (codesJson !== undefined) created.push(await createExclusive(join(real, name + PRESET_CODES_SUFFIX), codesJson, name));
    // Codes left by an interrupted save would be read as this upload's: the name is not free.
    else if ((await locateInside(real, name + PRESET_CODES_SUFFIX)).kind !== 'missing') throw new VoiceTakenError(name);
    await publishFile(wavTemp, join(real, `${name}.wav`), name); // last: the preset lists from here on
  } catch (error) {
    for (const file of created.reverse()) await removeOwn(file);
    throw writeFailure(error);
  }
  await fs.rm(wavTemp, { force: true }).catch(() => undefined); // the published link keeps the data
}

/** Creates `path` with `bytes`, failing when it exists (VoiceTakenError); the caller owns what it returns. */
async function createExclusive(path: string, bytes: Buffer | string, name: string): Promise<Created> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx');
  } catch (error) {
    throw (error as { code?: unknown }).code === 'EEXIST' ? new VoiceTakenError(name) : error;
  }
  try {
    const file = { path, ino: (await handle.stat()).ino };
    try {
      await handle.writeFile(bytes);
    } catch (error) {
      await removeOwn(file); // a half-written file is still ours to take back
      throw error;
    }
    return file;
  } finally {
    await handle.close();
  }
}

/** Links the complete `temp` as `target`, which must not exist (VoiceTakenError). */
async function publishFile(temp: string, target: string, name: string): Promise<void> {
  try {
    await fs.link(temp, target);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') throw new VoiceTakenError(name);
    if (typeof code !== 'string' || !NO_HARD_LINKS.has(code)) throw error;
    // No hard links here: this writer owns the name (its NAME.txt), so only a stray file could be
    // in the way; look for one, then rename.
    const stray = await fs.lstat(target).then(
      () => true,
      (failure: unknown) => (isMissing(failure) ? false : Promise.reject(failure)),
    );
    if (stray) throw new VoiceTakenError(name);
    await fs.rename(temp, target);
  }
}

/** Removes `file` if it is still the one this writer created. */
async function removeOwn(file: Created): Promise<void> {
  try {
    if ((await fs.lstat(file.path)).ino === file.ino) await fs.unlink(file.path);
  } catch {
    // Gone already, or not removable: there is nothing more this writer can do about it.
  }
}

function lockKey(realDir: string, name: string): string {
  return `${realDir}\0${name}`;
}

/**
 * Removes preset `name` from `dir`, also the remains of an interrupted write (a transcript
 * without its WAV). Returns false when there is no file of that name. A reader meanwhile sees
 * the whole preset or none of it in a listing; a request that resolves the voice as it goes may
 * fail with "unknown voice" (E_INPUT), or encode the WAV when NAME.codes.json went first.
 * @throws HiggsError E_INPUT for a bad name or a file outside the directory; VoicesReadOnlyError.
 */
export async function removePreset(dir: string, name: string): Promise<boolean> {
  assertVoiceName(name);
  const real = await realDirectory(dir);
  if (!real) return false;
  return withNameLock(lockKey(real, name), async () => {
    const present: string[] = [];
    for (const ext of PRESET_FILES) {
      const found = await locateInside(real, name + ext);
      if (found.kind === 'outside') throw new HiggsError('E_INPUT', `voice ${quoteName(name)} points outside the voice directory`);
      if (found.kind === 'file') present.push(ext);
    }
    let removed = false;
    for (const ext of present) {
      try {
        await fs.unlink(join(real, name + ext)); // the link itself, never what it points to
        removed = true;
      } catch (error) {
        if (!isMissing(error)) throw writeFailure(error);
      }
    }
    return removed;
  });
}
