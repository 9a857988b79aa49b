// The `higgs-audio` CLI run as users run it: `node bin/higgs-audio.js ...` in a child process
// (dist/ is built by the bootstrap), with the bundled tiny model; audio checked with soxi.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProgress, wantsBar } from '../../lib/cli/progress.js';
import { EXPECTED_ABI } from '../../lib/native/loader.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';

const bin = join(repoRoot, 'bin', 'higgs-audio.js');
const scratch = mkdtempSync(join(tmpdir(), 'higgs-cli-'));
const ESC = '\x1b';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without this machine's HIGGS_* settings (and no pull cache): the CLI's defaults apply. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGGS_')));
  return { ...env, HIGGS_CACHE_DIR: join(scratch, 'no-pull-cache'), ...extra };
}

function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Run {
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? scratch,
    env: cleanEnv(options.env),
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function soxi(file: string): { rate: number; channels: number; seconds: number } {
  const field = (flag: string) => Number(execFileSync('soxi', [flag, file], { encoding: 'utf8' }).trim());
  return { rate: field('-r'), channels: field('-c'), seconds: field('-D') };
}

/** A folder with two preset voices (made by sox) and a profile.yaml with two profiles. */
function voicesDir(): string {
  const dir = join(scratch, 'voices');
  mkdirSync(dir, { recursive: true });
  const presets: [string, string][] = [
    ['belinda', 'Twas the night before Christmas.'],
    ['chadwick', 'The quick brown fox.'],
  ];
  for (const [name, text] of presets) {
    execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', join(dir, `${name}.wav`), 'synth', '1', 'sine', '300-600']);
    writeFileSync(join(dir, `${name}.txt`), text);
  }
  writeFileSync(join(dir, 'profile.yaml'), 'profiles:\n  narrator: A calm, deep male voice.\n  child: A bright young voice.\n');
  writeFileSync(join(dir, 'orphan.wav'), 'no transcript: not a preset');
  return dir;
}

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist', 'lib', 'cli', 'main.js'))) {
    throw new Error('dist/lib/cli/main.js is missing: build it with `npx tsc -p tsconfig.json` (the bootstrap does)');
  }
});

describe('help and version', () => {
  it.each([['--help'], ['-h'], ['help']])('%s prints the overview on stdout and exits 0', (flag) => {
    const run = cli([flag]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: higgs-audio <command> \[options\]/);
    for (const word of ['speak', 'voices', 'serve', 'worker', 'HIGGS_MODEL_DIR', 'HIGGS_VOICES_DIR']) expect(run.stdout).toContain(word);
    expect(run.stderr).toBe('');
  });

  // The process's own memory map says whether libtorch was loaded: help must not pay for it.
  // (--version does: it reports what the addon was built with, which only the addon knows.)
  it.each([['help'], ['speak', '--help'], ['worker', '--help']])('%s loads no native addon', (...args) => {
    const main = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');
    const script = `
      const { main } = await import(${JSON.stringify(main)});
      const status = await main(${JSON.stringify(args)});
      const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
      process.stderr.write(JSON.stringify({ status, addon: maps.includes('higgs_audio.node'), torch: maps.includes('libtorch') }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: scratch, env: cleanEnv({ HIGGS_DEVICE: 'auto' }), encoding: 'utf8' });
    expect(JSON.parse(run.stderr)).toEqual({ status: 0, addon: false, torch: false });
  });

  it.each([['help', 'speak'], ['speak', '--help'], ['speak', '-h']])('%s %s prints the speak page', (...args) => {
    const run = cli(args);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: higgs-audio speak \(--text TEXT \| --file FILE \| --codes FILE\)/);
    for (const flag of ['--voice', '--out', '--format', '--seed', '--scene', 'profile:NAME', '--top-p', '--ref-audio', '--json']) expect(run.stdout).toContain(flag);
  });

  it.each([['--version'], ['-v']])('%s prints the package version, then what the addon was built with', (flag) => {
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
    const run = cli([flag]);
    expect(run.status).toBe(0);
    // The first line alone is the version (what scripts read); the facts come from the addon.
    const torch = execFileSync(join(repoRoot, '.venv', 'bin', 'python'), ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
    expect(run.stdout).toBe(
      [version, `addon abi: ${EXPECTED_ABI}`, `libtorch: ${torch.replace(/\+.*$/, '')}`, 'cuda: cpu', 'kernel archs: cpu', ''].join('\n'),
    );
    expect(run.stderr).toBe('');
  });

  it('--version still answers, with the reason, when no addon loads', () => {
    const run = cli(['--version'], { env: { HIGGS_AUDIO_ADDON: join(scratch, 'missing.node') } });
    expect(run.status).toBe(0);
    const [first, second, ...rest] = run.stdout.split('\n');
    expect(first).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
    expect(second).toMatch(/^addon: not loaded \(The higgs-audio native addon could not be loaded\..*missing\.node: not found\)$/);
    expect(rest).toEqual(['']);
  });

  it('package.json names the launcher as the higgs-audio bin', () => {
    expect(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).bin).toEqual({ 'higgs-audio': 'bin/higgs-audio.js' });
  });
});

describe('usage errors exit 2 with one line and a pointer to the help', () => {
  it.each([
    [[], 'no command given'],
    [['synthesize'], 'unknown command "synthesize"'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['speak', '--text', 'hi', '--bogus'], "Unknown option '--bogus'"],
    [['speak', 'hello'], 'Unexpected argument'],
    [['speak'], 'give exactly one of --text TEXT or --file FILE (or --codes FILE to decode codes)'],
    [['speak', '--text', 'a', '--file', 'b'], 'give exactly one of --text TEXT or --file FILE'],
    [['speak', '--text', 'a', '--codes', 'b'], 'give exactly one of --text TEXT or --file FILE'],
    [['speak', '--text', 'hi', '--voice', 'a', '--speaker', '0=b'], 'give one of --voice, --ref-audio and --speaker (got --voice and --speaker)'],
    [['speak', '--text', 'hi', '--ref-audio', 'a.wav'], '--ref-audio FILE and --ref-text TEXT go together'],
    [['speak', '--text', 'hi', '--speaker', 'belinda'], '--speaker must be N=VOICE'],
    [['speak', '--text', 'hi', '--speed', '5'], '--speed must be a number from 0.25 to 4 (got "5")'],
    [['speak', '--text', 'hi', '--sample-rate', '11025'], '--sample-rate must be one of 8000, 16000, 22050, 24000, 44100, 48000 (got "11025")'],
    [['speak', '--text', 'hi', '--temperature', '3'], '--temperature must be a number from 0 to 2 (got "3")'],
    [['speak', '--text', 'hi', '--top-k', '2.5'], '--top-k must be a whole number from 0 to 1000000 (got "2.5")'],
    [['speak', '--text', 'hi', '--chunk-method', 'sentence'], '--chunk-method must be one of auto, none, speaker, word (got "sentence")'],
    [['speak', '--text'], "Option '-t, --text <value>' argument missing"],
    [['speak', '--text', 'hi', '--format', 'ogg'], '--format must be one of wav, flac, mp3, opus, pcm, ulaw, alaw, codes, or pcm_16000 and the like (got "ogg")'],
    [['speak', '--text', 'hi', '--seed', '1.5'], '--seed must be a whole number from 0 to 4294967295'],
    [['speak', '--text', 'hi', '--seed', '4294967296'], '--seed must be a whole number'],
    [['speak', '--text', 'hi', '--speed', 'fast'], '--speed must be a number from 0.25 to 4 (got "fast")'],
    [['speak', '--text', 'hi', '--sample-rate', '16k'], '--sample-rate must be one of 8000, 16000, 22050, 24000, 44100, 48000 (got "16k")'],
    [['voices', 'extra'], 'Unexpected argument'],
    [['help', 'nope'], 'unknown command "nope"'],
  ])('%j', (args, message) => {
    const run = cli(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`higgs-audio: [E_INPUT] ${message}`);
    expect(run.stderr).toMatch(/Run 'higgs-audio help( \w+)?' for usage\.\n$/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('worker without a platform, a --test-input or ./test_input.json is a usage error (exit 2)', () => {
    const run = cli(['worker'], { cwd: mkdtempSync(join(scratch, 'no-input-')) });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('higgs-audio: [E_INPUT]');
  });
});

describe('speak', () => {
  it('writes ./higgs-audio.wav with the bundled tiny model and reports it, without escape codes in pipes', () => {
    const cwd = mkdtempSync(join(scratch, 'default-'));
    const run = cli(['speak', '--text', 'The sun rises in the east.', '--seed', '7'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    const file = join(cwd, 'higgs-audio.wav');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(file);
    expect(lines[1]).toMatch(/^duration: \d+\.\d\d s \(24000 Hz wav, \d+ bytes, seed 7\)$/);
    expect(lines[2]).toMatch(/^timings: load \d+\.\d\d s, generate \d+\.\d\d s, decode \d+\.\d\d s, encode \d+\.\d\d s$/);
    expect(lines[3]).toMatch(/^chunks: 1(, truncated: 1 stopped at a cap \(max_frames\), the speech may end early)?$/);
    const info = soxi(file);
    expect(info.rate).toBe(24000);
    expect(info.channels).toBe(1);
    expect(info.seconds).toBeGreaterThan(0);
    expect(Number(/duration: ([\d.]+)/.exec(lines[1]!)![1])).toBeCloseTo(info.seconds, 2);
    // Not a terminal: plain progress lines, no bar, no escape codes or carriage returns anywhere.
    expect(run.stderr).toContain('bundled tiny random model');
    expect(run.stderr).toMatch(/^load 100%$/m);
    expect(run.stderr).toMatch(/^generate \d+%$/m);
    expect(run.stdout + run.stderr).not.toContain(ESC);
    expect(run.stdout + run.stderr).not.toContain('\r');
  });

  it('reads --file, takes the format from the --out extension, and gives the same audio for the same seed', () => {
    const text = join(scratch, 'story.txt');
    writeFileSync(text, 'Once upon a time.\n');
    const first = cli(['speak', '--file', text, '--out', 'story.flac', '--seed', '11']);
    expect(first.status, first.stderr).toBe(0);
    const flac = join(scratch, 'story.flac');
    expect(first.stdout.split('\n')[0]).toBe(flac);
    expect(first.stdout).toContain('24000 Hz flac');
    expect(soxi(flac)).toMatchObject({ rate: 24000, channels: 1 });
    expect(soxi(flac).seconds).toBeGreaterThan(0);
    // The same text from standard input ('-') with the same seed: the same samples.
    const again = cli(['speak', '--file', '-', '--out', join(scratch, 'stdin.wav'), '--seed', '11'], { input: 'Once upon a time.\n' });
    expect(again.status, again.stderr).toBe(0);
    const samples = (file: string) => execFileSync('sox', [file, '-t', 's16', '-'], { maxBuffer: 1 << 26 });
    expect(samples(join(scratch, 'stdin.wav')).equals(samples(flac))).toBe(true);
  });

  it('writes raw pcm at --sample-rate, and --speed 2 halves the duration', () => {
    const speakPcm = (name: string, extra: string[]) => {
      const out = join(scratch, name);
      const run = cli(['speak', '--text', 'The sun rises in the east.', '--seed', '5', '--format', 'pcm', '--sample-rate', '16000', '--out', out, ...extra]);
      expect(run.status, run.stderr).toBe(0);
      const seconds = Number(/duration: ([\d.]+) s \(16000 Hz pcm, (\d+) bytes/.exec(run.stdout)![1]);
      const bytes = readFileSync(out).length;
      expect(run.stdout).toContain(`${bytes} bytes`);
      expect(bytes / 2 / 16000).toBeCloseTo(seconds, 2); // s16le mono, no header
      return seconds;
    };
    const plain = speakPcm('plain.pcm', []);
    const fast = speakPcm('fast.pcm', ['--speed', '2']);
    expect(plain).toBeGreaterThan(0);
    expect(fast / plain).toBeGreaterThan(0.45);
    expect(fast / plain).toBeLessThan(0.55);
  });

  it('takes every request field as a flag, prints the report with --json, and decodes the codes it wrote', () => {
    const codesFile = join(scratch, 'sun.codes.json');
    const common = ['--seed', '9', '--temperature', '0.5', '--top-k', '20', '--top-p', '0.9', '--ras-win-len', '0', '--max-new-tokens', '60'];
    const made = cli(['speak', '--text', 'The sun rises. It sets in the west.', ...common, '--chunk-method', 'word', '--chunk-max-word-num', '3', '--format', 'codes', '--out', codesFile, '--json']);
    expect(made.status, made.stderr).toBe(0);
    const report = JSON.parse(made.stdout) as { file: string; format: string; seed: number; result_hash: string; chunks: Array<Record<string, unknown>>; truncated: boolean };
    expect(report).toMatchObject({ file: codesFile, format: 'codes', seed: 9, truncated: expect.any(Boolean) });
    expect(report.result_hash).toMatch(/^[0-9a-f]{64}$/);
    // chunk_method word with 3 words a chunk: three chunks, back to back.
    expect(report.chunks.map((c) => String(c.text).trim())).toEqual(['The sun rises.', 'It sets in', 'the west.']);
    for (const [i, chunk] of report.chunks.entries()) {
      expect(chunk).toMatchObject({ frames: expect.any(Number), stop_reason: expect.stringMatching(/^(audio_end|max_frames|context_full)$/) });
      if (i > 0) expect(chunk.start_seconds).toBe(report.chunks[i - 1]!.end_seconds);
    }
    // The same flags give the same codes (the flags reach the request); the codes decode to audio.
    const again = cli(['speak', '--text', 'The sun rises. It sets in the west.', ...common, '--chunk-method', 'word', '--chunk-max-word-num', '3', '--format', 'codes', '--out', join(scratch, 'again.codes.json'), '--json']);
    expect((JSON.parse(again.stdout) as { result_hash: string }).result_hash).toBe(report.result_hash);
    const wav = join(scratch, 'decoded.wav');
    const decoded = cli(['speak', '--codes', codesFile, '--out', wav, '--sample-rate', '16000', '--json']);
    expect(decoded.status, decoded.stderr).toBe(0);
    expect(JSON.parse(decoded.stdout)).toMatchObject({ file: wav, seed: null, chunks: [], sample_rate: 16000 });
    expect(soxi(wav)).toMatchObject({ rate: 16000, channels: 1 });
    const bad = cli(['speak', '--codes', join(scratch, 'story.txt')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('[E_INPUT]');
  });

  it('speaks with a clip given as --ref-audio and --ref-text, and with --speaker voices', () => {
    const clip = join(scratch, 'clip.wav');
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', clip, 'synth', '1', 'sine', '220']);
    const out = join(scratch, 'cloned.wav');
    const run = cli(['speak', '--text', 'Hello there.', '--seed', '3', '--ref-audio', clip, '--ref-text', 'A low hum.', '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(soxi(out).seconds).toBeGreaterThan(0);
    const env = { HIGGS_VOICES_DIR: voicesDir() };
    const duo = join(scratch, 'duo.wav');
    const two = cli(['speak', '--text', '[SPEAKER0] Hello. [SPEAKER1] Hi there.', '--seed', '3', '--speaker', '0=belinda', '--speaker', '1=description:A bright young voice.', '--out', duo], { env });
    expect(two.status, two.stderr).toBe(0);
    expect(soxi(duo).seconds).toBeGreaterThan(0);
    const missing = cli(['speak', '--text', 'Hi.', '--ref-audio', join(scratch, 'nope.wav'), '--ref-text', 'x']);
    expect(missing.stderr).toContain('cannot read --ref-audio');
  });

  it('speaks with a preset voice and a profile voice from HIGGS_VOICES_DIR', () => {
    const env = { HIGGS_VOICES_DIR: voicesDir() };
    for (const voice of ['belinda', 'profile:narrator']) {
      const out = join(scratch, `voice-${voice.replace(':', '-')}.wav`);
      const run = cli(['speak', '--text', 'Hello there.', '--voice', voice, '--out', out, '--scene', 'A quiet room.'], { env });
      expect(run.status, run.stderr).toBe(0);
      expect(soxi(out).seconds).toBeGreaterThan(0);
    }
  });

  it('rejects a missing voice with E_INPUT before loading the model', () => {
    const run = cli(['speak', '--text', 'Hi.', '--voice', 'nobody', '--out', join(scratch, 'never.wav')], { env: { HIGGS_VOICES_DIR: voicesDir() } });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('higgs-audio: [E_INPUT] unknown voice "nobody" (available: belinda, chadwick, profile:child, profile:narrator)\n');
    expect(existsSync(join(scratch, 'never.wav'))).toBe(false);
    const profile = cli(['speak', '--text', 'Hi.', '--voice', 'profile:pirate'], { env: { HIGGS_VOICES_DIR: voicesDir() } });
    expect(profile.status).toBe(1);
    expect(profile.stderr).toContain('higgs-audio: [E_INPUT] unknown voice profile "pirate"');
  });

  it('rejects a voice when no voice directory is configured, and an invalid voice name', () => {
    const none = cli(['speak', '--text', 'Hi.', '--voice', 'belinda']);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('[E_INPUT] unknown voice "belinda": no voice directory is configured (set HIGGS_VOICES_DIR)');
    const invalid = cli(['speak', '--text', 'Hi.', '--voice', '../etc/passwd'], { env: { HIGGS_VOICES_DIR: voicesDir() } });
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toContain('[E_INPUT] invalid voice name "../etc/passwd"');
  });

  it.each([
    [['--file', 'missing.txt'], /\[E_INPUT\] cannot read --file .*missing\.txt: ENOENT/],
    [['--text', '   '], /\[E_INPUT\] the text to speak is empty/],
    [['--text', 'Hi.', '--out', 'no/such/folder/x.wav'], /\[E_INPUT\] cannot write .*x\.wav: the folder .*folder does not exist/],
    // What only the whole request can tell (opus states a few rates): refused by the schema before the model loads.
    [['--text', 'Hi.', '--format', 'opus', '--sample-rate', '22050'], /\[E_INPUT\] .*sample_rate/],
  ])('%j fails with exit 1, one line, no stack trace', (args, message) => {
    const run = cli(['speak', ...args]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints the stack trace only with HIGGS_DEBUG=1', () => {
    const run = cli(['speak', '--file', 'missing.txt'], { env: { HIGGS_DEBUG: '1' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^higgs-audio: \[E_INPUT\] cannot read --file/);
    expect(run.stderr).toMatch(/\n\s+at /);
    expect(run.stderr).toContain('caused by:');
  });

  it('an interrupt (SIGINT) cancels the request and exits 130', async () => {
    const out = join(scratch, 'interrupted.wav');
    const child = spawn(process.execPath, [bin, 'speak', '--text', 'A sentence that will never be spoken.', '--out', out], {
      cwd: scratch,
      env: cleanEnv(),
    });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => {
      // The first progress output means the request is under way.
      if (!stderr) child.kill('SIGINT');
      stderr += data.toString();
    });
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(status).toBe(130);
    expect(stderr).toContain('higgs-audio: [E_CANCELLED] interrupted');
    expect(existsSync(out)).toBe(false);
  });
});

describe('configuration errors', () => {
  it('name the variable, exit 1, and show no stack trace', () => {
    const run = cli(['speak', '--text', 'Hi.'], { env: { HIGGS_DEVICE: 'gpu', HIGGS_MAX_CONCURRENCY: '0' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'higgs-audio: [E_INPUT] invalid configuration:\n' +
        '  HIGGS_DEVICE: must be one of auto, cuda, cuda:N, cpu (got "gpu")\n' +
        '  HIGGS_MAX_CONCURRENCY: must be at least 1\n',
    );
  });

  it('HIGGS_MODEL_DIR pointing nowhere is named', () => {
    const run = cli(['voices'], { env: { HIGGS_MODEL_DIR: join(scratch, 'no-model') } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`HIGGS_MODEL_DIR: ${join(scratch, 'no-model')} does not exist`);
  });

  it('an explicit tiny model directory works like the bundled one', () => {
    const run = cli(['speak', '--text', 'Hi.', '--out', join(scratch, 'explicit.wav'), '--seed', '1'], { env: { HIGGS_MODEL_DIR: tinyHfDir } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('bundled tiny random model');
  });
});

describe('voices', () => {
  it('lists presets then profiles, one per line, from HIGGS_VOICES_DIR', () => {
    const run = cli(['voices'], { env: { HIGGS_VOICES_DIR: voicesDir() } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('belinda\nchadwick\nprofile:child\nprofile:narrator\n');
    expect(run.stderr).toBe('');
  });

  it('says so on stderr when there is no voice directory or it is empty', () => {
    const none = cli(['voices']);
    expect(none.status).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no voice directory is configured (set HIGGS_VOICES_DIR)');
    const empty = cli(['voices'], { env: { HIGGS_VOICES_DIR: mkdtempSync(join(scratch, 'empty-')) } });
    expect(empty.status).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('no voices in');
  });

  it('reports an invalid profile.yaml as E_INPUT', () => {
    const dir = mkdtempSync(join(scratch, 'badyaml-'));
    writeFileSync(join(dir, 'profile.yaml'), 'profiles: [unclosed');
    const run = cli(['voices'], { env: { HIGGS_VOICES_DIR: dir } });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^higgs-audio: \[E_INPUT\] invalid profile\.yaml: /);
  });
});

describe('progress display', () => {
  const capture = (isTTY: boolean) => {
    const stream = { isTTY, columns: 60, text: '', write(chunk: string) { this.text += chunk; } };
    const progress = createProgress(stream, wantsBar(stream, {}));
    progress.update('load', 0);
    progress.update('load', 0.3);
    progress.note('a note');
    progress.update('load', 1);
    progress.update('generate', 0.5);
    progress.finish();
    return stream.text;
  };

  it('draws a bar on a terminal', () => {
    const text = capture(true);
    expect(text).toContain(`\r${ESC}[2Kload      [`);
    expect(text).toContain('] 100%');
    expect(text).toContain('a note\n');
    expect(text.endsWith(`\r${ESC}[2K`)).toBe(true);
  });

  it('prints plain lines at 25% steps elsewhere, and for TERM=dumb', () => {
    expect(capture(false)).toBe('load 0%\nload 30%\na note\nload 100%\ngenerate 50%\n');
    expect(wantsBar({ isTTY: true, write: () => true }, { TERM: 'dumb' })).toBe(false);
  });
});
