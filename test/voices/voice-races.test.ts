// Issue 31: the claim of a preset name (lib/voices/presets.ts) under concurrent writers and
// removers in one process, on a real directory: one writer wins, every file of a listed preset
// comes from one writer, a loser leaves nothing behind, and a removal never leaves half a preset.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoiceLibrary } from '../../lib/voices/library.js';
import { VoiceTakenError, addPreset, removePreset } from '../../lib/voices/presets.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-voice-races-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Distinct bytes per writer (a WAV's content is not looked at here). */
const wavOf = (i: number) => Buffer.alloc(4096 + i, i + 1);
const codesOf = (i: number) => JSON.stringify({ writer: i });
const list = () => new VoiceLibrary({ dir, codecId: 'c', encode: async () => [[0]] }).list();
const read = (file: string) => readFileSync(join(dir, file));
const files = () => readdirSync(dir).sort();

describe('addPreset with one name at once', () => {
  it('stores exactly one writer; the others get VoiceTakenError; every file is the winner’s', async () => {
    for (let round = 0; round < 10; round++) {
      const name = `race${round}`;
      // Half of the writers save codes too (save_voice), half do not (an upload).
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => addPreset(dir, name, wavOf(i), `writer ${i}`, i % 2 ? codesOf(i) : undefined)),
      );
      const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(VoiceTakenError);
      const w = winners[0]!;
      expect(read(`${name}.txt`).toString()).toBe(`writer ${w}`);
      expect(read(`${name}.wav`).equals(wavOf(w))).toBe(true);
      if (w % 2) expect(read(`${name}.codes.json`).toString()).toBe(codesOf(w));
      else expect(files()).not.toContain(`${name}.codes.json`);
    }
    expect(files().filter((f) => f.startsWith('.'))).toEqual([]); // no temporary file is left
  });

  it('treats the remains of an interrupted write as a taken name, which a removal clears', async () => {
    writeFileSync(join(dir, 'half.txt'), 'a claim whose WAV never came');
    expect(await list()).toEqual([]);
    await expect(addPreset(dir, 'half', wavOf(1), 'new')).rejects.toBeInstanceOf(VoiceTakenError);
    expect(read('half.txt').toString()).toBe('a claim whose WAV never came'); // not the loser's to remove
    expect(await removePreset(dir, 'half')).toBe(true);
    await addPreset(dir, 'half', wavOf(1), 'new');
    expect(await list()).toEqual(['half']);
    // Codes left without their preset would be read as the next upload's: the name is not free.
    writeFileSync(join(dir, 'stale.codes.json'), codesOf(9));
    await expect(addPreset(dir, 'stale', wavOf(2), 'x')).rejects.toBeInstanceOf(VoiceTakenError);
    expect(files()).not.toContain('stale.txt');
  });
});

describe('removePreset racing addPreset', () => {
  it('leaves the whole preset of one writer or nothing, never a part', async () => {
    for (let round = 0; round < 200; round++) {
      const name = `r${round}`;
      if (round % 2) await addPreset(dir, name, wavOf(99), 'before');
      const add = addPreset(dir, name, wavOf(round), `writer ${round}`, round % 3 ? codesOf(round) : undefined);
      add.catch(() => undefined); // settled below; a taken name may reject before that
      // Removals land all along the write: one per turn of the event loop.
      const removals: Promise<boolean>[] = [];
      for (let turn = 0; turn < 12; turn++) {
        await new Promise((r) => setImmediate(r));
        removals.push(removePreset(dir, name));
      }
      const [added] = await Promise.allSettled([add, ...removals]);
      await Promise.all(removals); // none throws
      const left = files().filter((f) => f.startsWith(`${name}.`));
      if (left.length === 0) continue;
      // Whatever is left lists, and is one writer's.
      expect(await list()).toContain(name);
      expect(added!.status).toBe('fulfilled');
      expect(read(`${name}.txt`).toString()).toBe(`writer ${round}`);
      expect(read(`${name}.wav`).equals(wavOf(round))).toBe(true);
      expect(left.includes(`${name}.codes.json`)).toBe(round % 3 !== 0);
    }
  });

  it('lets one of two concurrent removals report the removal', async () => {
    await addPreset(dir, 'twice', wavOf(1), 'x', codesOf(1));
    const results = await Promise.all([removePreset(dir, 'twice'), removePreset(dir, 'twice')]);
    expect(results.sort()).toEqual([false, true]);
    expect(files()).toEqual([]);
  });
});
