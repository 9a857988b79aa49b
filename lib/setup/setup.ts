/**
 * `higgs-audio setup`: makes what the native addon needs on this machine, step by step, each
 * skipped when already done:
 *   1. system packages (scripts/system-packages.sh build: installed on Debian when it may, else named)
 *   2. torch's libtorch from pip into a per-user Python environment, DATA/python/cpu|cuda
 *      (scripts/python-env.sh with HIGGS_PYTHON_HOME; never inside node_modules)
 *   3. the addon alone (no native tests, no bench) with cmake-js into the package's build/,
 *      unless a stamp says the same sources were built against the same libtorch
 *   4. loading the addon, to prove it works, and saying what it was built with
 * DATA is HIGGS_DATA_DIR, else $XDG_DATA_HOME/higgs-audio, else ~/.local/share/higgs-audio; the
 * set-up log (every line every script printed) is DATA/setup.log.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { runScript } from './run-script.js';
import { HiggsError } from '../common/errors.js';
import { packageVersion } from '../common/package-root.js';
import { userDir } from '../common/user-dirs.js';
import { loadNative } from '../native/loader.js';

export const DATA_DIR_VARIABLE = 'HIGGS_DATA_DIR';

/** The per-user data folder (torch's environments, the set-up log), or null without a HOME. */
export function setupDataRoot(env: NodeJS.ProcessEnv): string | null {
  return userDir(env, { own: DATA_DIR_VARIABLE, xdg: 'XDG_DATA_HOME', homeDefault: ['.local', 'share'] });
}

export type Backend = 'cpu' | 'cuda';

/** Parallel compiles: the cores, as far as memory holds about 1.5 GB per libtorch compile. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(totalmem() / (1.5 * 2 ** 30))));
}

export interface SetupOptions {
  /** The package root (scripts/, native/, build/). */
  root: string;
  env: NodeJS.ProcessEnv;
  backend: Backend;
  /** Install missing Debian packages when allowed (root, or sudo without a password). */
  installSystemPackages: boolean;
  /** Parallel compile jobs. */
  jobs: number;
  signal?: AbortSignal;
  report: SetupReport;
}

export interface SetupReport {
  /** Step `index` of `total` starts. */
  step(index: number, total: number, title: string): void;
  /** A line worth showing (the scripts' own messages). */
  note(text: string): void;
  /** The build's progress, 0..1. */
  progress(fraction: number): void;
}

export interface SetupResult {
  dataDir: string;
  torchDir: string;
  addon: string;
  logFile: string;
  /** False when the addon was already built from these sources against this libtorch. */
  built: boolean;
  torchVersion: string;
  cudaVersion: string;
}

const STEPS = 4;
/** How many of a failed script's last lines its error shows. */
const FAILURE_TAIL_LINES = 30;

export async function setup(options: SetupOptions): Promise<SetupResult> {
  const { root, report } = options;
  const dataDir = setupDataRoot(options.env);
  if (dataDir === null) throw new HiggsError('E_SETUP', `no per-user folder: set ${DATA_DIR_VARIABLE} (or HOME)`);
  mkdirSync(dataDir, { recursive: true });
  // The addon finds libtorch where root's setup put it, which other users cannot read.
  if (process.getuid?.() === 0 && options.env.SUDO_USER && !options.env[DATA_DIR_VARIABLE]) {
    report.note(
      `running under sudo: torch goes into ${dataDir} and the addon will load for root only; for ${options.env.SUDO_USER}, ` +
        'install the Debian packages with sudo apt-get and run `npx higgs-audio setup` without sudo',
    );
  }
  const logFile = join(dataDir, 'setup.log');
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    ...(options.backend === 'cuda' && !options.env.HIGGS_CUDA_ARCH ? localGpuArchs() : {}),
    HIGGS_PYTHON_HOME: join(dataDir, 'python'),
    HIGGS_BUILD_JOBS: String(options.jobs),
    ...(options.installSystemPackages ? {} : { HIGGS_NO_SYSTEM_PACKAGES: '1' }),
  };
  // The last lines each script printed: a failure's message ends with them.
  let tail: string[] = [];
  const script = async (name: string, args: string[], onLine = (line: string, stream: 'stdout' | 'stderr') => stream === 'stderr' && report.note(line)) => {
    tail = [];
    return runScript({
      root, script: name, args, env, logFile, signal: options.signal,
      onLine: (line, stream) => {
        tail = [...tail.slice(-(FAILURE_TAIL_LINES - 1)), line];
        onLine(line, stream);
      },
    });
  };
  const failed = (what: string, showTail = false): never => {
    options.signal?.throwIfAborted();
    const lines = showTail && tail.length ? `; its last lines:\n${tail.join('\n')}` : '';
    throw new HiggsError('E_SETUP', `${what} (every line is in ${logFile})${lines}`);
  };

  report.step(1, STEPS, 'system packages');
  const packages = await script('system-packages.sh', ['build']);
  if (packages.status === 3) failed('Debian packages are missing: install them as shown above, then run `higgs-audio setup` again');
  if (packages.status !== 0) failed('installing the Debian packages failed');

  report.step(2, STEPS, `torch (${options.backend}) in ${env.HIGGS_PYTHON_HOME}`);
  const python = await script('python-env.sh', [options.backend]);
  if (python.status !== 0) failed('installing torch with pip failed', true);
  const torchDir = python.stdout.trim().split('\n').pop()!;
  if (tail.length === 1) report.note('already installed'); // python-env.sh printed its result alone

  report.step(3, STEPS, 'the native addon');
  const buildDir = join(root, 'build');
  const addon = join(buildDir, 'Release', 'higgs_audio.node');
  const stampFile = join(buildDir, '.setup-stamp');
  const stamp = JSON.stringify({ version: packageVersion(), backend: options.backend, torchDir, sources: sourcesHash(root) });
  const current = existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  if (current) {
    report.note(`${addon} is current (same sources, same libtorch)`);
  } else {
    mkdirSync(buildDir, { recursive: true });
    rmSync(stampFile, { force: true });
    rmSync(join(buildDir, '.native-hash'), { force: true }); // a source checkout's bootstrap.sh: build again
    const build = await script(
      'build-native.sh',
      [options.backend, '--out', 'build', '--CDHIGGS_BUILD_TESTS=OFF', '--CDHIGGS_BUILD_BENCH=OFF'],
      (line) => {
        const fraction = buildFraction(line);
        if (fraction !== null) report.progress(fraction);
        else if (line.startsWith('-- higgs-audio: ')) report.note(line.slice(3)); // what CMake found
      },
    );
    if (build.status !== 0) failed('the native build failed', true);
    writeFileSync(stampFile, stamp);
  }

  report.step(4, STEPS, 'loading the addon');
  let info: { torchVersion: string; cudaVersion: string };
  try {
    info = loadNative([addon]).buildInfo();
  } catch (error) {
    rmSync(stampFile, { force: true }); // the next run builds again
    throw new HiggsError('E_SETUP', `the addon was built but does not load: ${(error as Error).message}`, { cause: error });
  }
  return { dataDir, torchDir, addon, logFile, built: !current, torchVersion: info.torchVersion, cudaVersion: info.cudaVersion };
}

/** The compute capabilities of this machine's GPUs ("8.9;9.0+PTX"), when nvidia-smi can say. */
function localGpuArchs(): { HIGGS_CUDA_ARCH?: string } {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader'], { encoding: 'utf8' });
  const caps = [...new Set((smi.stdout ?? '').split('\n').map((l) => l.trim()).filter((l) => /^\d+\.\d+$/.test(l)))];
  caps.sort((a, b) => Number(a) - Number(b));
  return smi.status === 0 && caps.length ? { HIGGS_CUDA_ARCH: `${caps.join(';')}+PTX` } : {};
}

/** ninja's "[12/345] ..." or make's "[ 45%] ...", as a fraction; null for any other line. */
export function buildFraction(line: string): number | null {
  const ninja = /^\[(\d+)\/(\d+)\]/.exec(line);
  if (ninja) return Number(ninja[1]) / Math.max(1, Number(ninja[2]));
  const make = /^\[\s*(\d+)%\]/.exec(line);
  return make ? Number(make[1]) / 100 : null;
}

/** A digest of what the native build reads from the package: CMakeLists.txt and native/. */
function sourcesHash(root: string): string {
  const hash = createHash('sha256');
  const files: string[] = [join(root, 'CMakeLists.txt')];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  walk(join(root, 'native'));
  for (const file of files.sort()) {
    hash.update(`${relative(root, file)}\0${statSync(file).size}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}
