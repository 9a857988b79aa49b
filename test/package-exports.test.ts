// The package's two entries as an installed user reaches them (`import 'higgs-audio'` and
// `'higgs-audio/internals'`, resolved by Node through package.json "exports" from the built
// dist/): the main entry stays the small public surface, the building blocks are the subpath.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './setup/fixture-paths.js';

function exportsOf(specifier: string): string[] {
  const run = spawnSync('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()))`], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as string[];
}

describe('package exports', () => {
  it("'higgs-audio' is the service, its configuration, the request schema, voices, logs and errors", () => {
    expect(exportsOf('higgs-audio')).toEqual(
      [
        'CONFIG_VARIABLES',
        'ERROR_CODES',
        'HiggsAudio',
        'HiggsError',
        'LOG_LEVELS',
        'OUTPUT_FORMATS',
        'REQUEST_DEFAULTS',
        'SpeechSession',
        'VoiceLibrary',
        'createLogger',
        'createSpeechSession',
        'errorCode',
        'loadConfig',
        'parseRequest',
        'parseVoiceSpec',
      ].sort(),
    );
  });

  it("'higgs-audio/internals' has the building blocks the README's low-level examples use", () => {
    const names = exportsOf('higgs-audio/internals');
    for (const name of ['loadNative', 'loadTokenizer', 'synthesizeCodes', 'encodeReferenceAudio', 'synthesizeSpeech', 'codecFingerprint', 'renderPrompt', 'SAMPLING_DEFAULTS']) {
      expect(names, name).toContain(name);
    }
    // Nothing is exported twice: the main entry's names are not repeated here.
    for (const name of exportsOf('higgs-audio')) expect(names, name).not.toContain(name);
  });
});
