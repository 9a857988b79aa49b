// `higgs-audio setup`: its flags and help, where it keeps torch, how it reads the build's
// progress, and the Debian-package step's three answers (installed, named, not Debian) with the
// real script. The whole set-up (pack, install into an empty project, setup, speak) is
// scripts/package-smoke.mjs, and on a minimal Debian root scripts/rehearse-setup.sh.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseInvocation, UsageError } from '../../lib/cli/args.js';
import { runCli } from '../../lib/cli/main.js';
import { buildFraction, setupDataRoot } from '../../lib/setup/setup.js';
import { repoRoot } from '../setup/fixture-paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'higgs-cli-setup-'));
chmodSync(scratch, 0o755);
const script = join(repoRoot, 'scripts', 'system-packages.sh');

/**
 * A folder for PATH whose dpkg-query answers like Debian's but reports `absent` as not
 * installed: the package database of a machine that lacks that package.
 */
function dpkgWithout(absent: string): string {
  const dir = mkdtempSync(join(scratch, 'bin-'));
  chmodSync(dir, 0o755); // another user runs it too
  const shim = join(dir, 'dpkg-query');
  writeFileSync(shim, `#!/bin/sh\nfor last; do :; done\n[ "$last" = "${absent}" ] && exit 1\nexec /usr/bin/dpkg-query "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

describe('flags', () => {
  it('defaults to the CPU build with Debian packages allowed', () => {
    expect(parseInvocation(['setup'])).toEqual({ kind: 'setup', args: { backend: 'cpu', installSystemPackages: true } });
  });

  it('takes --cuda, --no-system-packages and --jobs', () => {
    expect(parseInvocation(['setup', '--cuda', '--no-system-packages', '--jobs', '3'])).toEqual({
      kind: 'setup',
      args: { backend: 'cuda', installSystemPackages: false, jobs: 3 },
    });
  });

  it.each([['0'], ['257'], ['two'], ['1.5'], ['']])('refuses --jobs %j', (jobs) => {
    expect(() => parseInvocation(['setup', '--jobs', jobs])).toThrow(UsageError);
  });

  it('refuses what it does not know', () => {
    expect(() => parseInvocation(['setup', '--gpu'])).toThrow(/Unknown option '--gpu'/);
    expect(() => parseInvocation(['setup', 'now'])).toThrow(UsageError);
  });

  it('has a help page naming the steps, the data folder and the log', async () => {
    let stdout = '';
    const status = await runCli(['help', 'setup'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      stdin: new PassThrough(),
      env: {},
      cwd: scratch,
    });
    expect(status).toBe(0);
    for (const word of ['Usage: higgs-audio setup', 'HIGGS_DATA_DIR', 'XDG_DATA_HOME', '~/.local/share/higgs-audio', 'setup.log', '--cuda', 'apt-get']) {
      expect(stdout).toContain(word);
    }
  });
});

describe('setupDataRoot', () => {
  it('is HIGGS_DATA_DIR, else $XDG_DATA_HOME/higgs-audio, else ~/.local/share/higgs-audio', () => {
    expect(setupDataRoot({ HIGGS_DATA_DIR: 'data', XDG_DATA_HOME: '/x', HOME: '/h' })).toBe(resolve('data'));
    expect(setupDataRoot({ XDG_DATA_HOME: '/x', HOME: '/h' })).toBe('/x/higgs-audio');
    expect(setupDataRoot({ XDG_DATA_HOME: 'relative', HOME: '/h' })).toBe('/h/.local/share/higgs-audio');
    expect(setupDataRoot({ HIGGS_DATA_DIR: ' ', HOME: '/h' })).toBe('/h/.local/share/higgs-audio');
    expect(setupDataRoot({})).toBeNull();
  });
});

describe('buildFraction', () => {
  it("reads ninja's and make's progress, and nothing else", () => {
    expect(buildFraction('[12/48] Building CXX object CMakeFiles/higgs_core.dir/native/core/errors.cc.o')).toBe(0.25);
    expect(buildFraction('[ 45%] Building CXX object x.o')).toBe(0.45);
    expect(buildFraction('[100%] Linking CXX shared library Release/higgs_audio.node')).toBe(1);
    expect(buildFraction('-- higgs-audio: audio-file module ON')).toBeNull();
    expect(buildFraction('warning: [12/48] in the middle')).toBeNull();
  });
});

describe('scripts/system-packages.sh', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('is silent and succeeds when every package is installed (the set-up made them so)', () => {
    const result = run(['all'], { HIGGS_NO_SYSTEM_PACKAGES: '1' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('names what is missing and the command, and exits 3, when it may not install', () => {
    const result = run(['build'], { HIGGS_NO_SYSTEM_PACKAGES: '1', PATH: `${dpkgWithout('librubberband-dev')}:${process.env.PATH}` });
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('missing Debian packages: librubberband-dev\n');
    expect(result.stderr).toContain('sudo apt-get install -y librubberband-dev\n');
  });

  it('does not ask for the test tools in a build-only check', () => {
    const result = run(['build'], { HIGGS_NO_SYSTEM_PACKAGES: '1', PATH: `${dpkgWithout('sox')}:${process.env.PATH}` });
    expect(result.status).toBe(0);
    expect(run(['all'], { HIGGS_NO_SYSTEM_PACKAGES: '1', PATH: `${dpkgWithout('sox')}:${process.env.PATH}` }).status).toBe(3);
  });

  // setpriv changes the user only for root (CI and the set-up run as root).
  it.skipIf(process.getuid?.() !== 0)('as a user without sudo, names the packages rather than trying apt-get', () => {
    const user = spawnSync('setpriv', ['--reuid=10001', '--regid=10001', '--clear-groups', 'bash', script, 'build'], {
      encoding: 'utf8',
      env: { PATH: `${dpkgWithout('nlohmann-json3-dev')}:/usr/bin:/bin` },
    });
    expect(user.stderr).toContain('missing Debian packages: nlohmann-json3-dev\n');
    expect(user.stderr).not.toContain('installing');
    expect(user.status).toBe(3);
  });

  it('elsewhere than Debian, says what to install by other names and goes on', () => {
    const result = spawnSync('/bin/bash', [script, 'build'], { encoding: 'utf8', env: { PATH: join(scratch, 'empty') } });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('not a Debian system');
    expect(result.stderr).toContain('librubberband');
  });
});

describe('higgs-audio setup', () => {
  it('stops at the first step with E_SETUP when packages are missing, and logs every line', () => {
    const data = join(scratch, 'data-missing');
    const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'higgs-audio.js'), 'setup', '--no-system-packages'], {
      encoding: 'utf8',
      env: { ...process.env, HIGGS_DATA_DIR: data, PATH: `${dpkgWithout('libsoxr-dev')}:${process.env.PATH}` },
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('higgs-audio setup [1/4] system packages');
    expect(result.stderr).toContain('sudo apt-get install -y libsoxr-dev');
    expect(result.stderr).toMatch(/higgs-audio: \[E_SETUP\] Debian packages are missing: .* \(every line is in .*setup\.log\)\n$/);
    expect(result.stderr).not.toContain('[2/4]');
    expect(readFileSync(join(data, 'setup.log'), 'utf8')).toContain('missing Debian packages: libsoxr-dev');
  });
});
