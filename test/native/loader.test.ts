// The addon loader's failure mode: one clear error listing what was tried and how to build.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_ERROR_CODES, ERROR_CODES, LIBRARY_ERROR_CODES } from '../../lib/common/errors.js';
import { EXPECTED_ABI, addonCandidates, loadNative } from '../../lib/native/loader.js';
import { MAX_SLOTS } from '../../lib/config/load-config.js';
import { REQUEST_DEFAULTS } from '../../lib/request/defaults.js';

describe('loadNative', () => {
  it('lists every path tried, with the reason, and how to build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-addon-'));
    const broken = join(dir, 'broken.node');
    writeFileSync(broken, 'not an ELF file');
    const missing = join(dir, 'missing.node');
    let error: (Error & { code?: string }) | undefined;
    try {
      loadNative([missing, broken]);
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error?.code).toBe('E_NATIVE_MISSING');
    expect(error?.message).toContain(`${missing}: not found`);
    expect(error?.message).toContain(`${broken}: `);
    expect(error?.message).toContain('npx higgs-audio setup');
  });

  it('HIGGS_AUDIO_ADDON overrides the search path', () => {
    expect(addonCandidates({ HIGGS_AUDIO_ADDON: '/opt/x/higgs_audio.node' })).toEqual(['/opt/x/higgs_audio.node']);
  });

  it('loads the built addon with the expected ABI', () => {
    const binding = loadNative();
    expect(binding.constants.abiVersion).toBe(EXPECTED_ABI);
    expect(typeof binding.Engine).toBe('function');
  });

  it('agrees with the addon on what both sides must know: error codes and the core bounds', () => {
    const { constants } = loadNative();
    // The core's codes are the library's CORE_ERROR_CODES; the library adds only its own.
    expect([...constants.errorCodes].sort()).toEqual([...CORE_ERROR_CODES].sort());
    expect(ERROR_CODES.filter((c) => !(CORE_ERROR_CODES as readonly string[]).includes(c))).toEqual([...LIBRARY_ERROR_CODES]);
    // The request schema never lets through a RAS window the core's buffers cannot hold.
    expect(REQUEST_DEFAULTS.ras_win_len.maximum).toBe(constants.limits.maxRasWindow);
    // HIGGS_SLOTS takes no more slots than the engine does.
    expect(MAX_SLOTS).toBe(constants.limits.maxSlots);
  });
});
