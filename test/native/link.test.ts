// The native builds link one libtorch, the one of their Python environment (two in one process
// abort in the dispatcher), read off the binaries' dependencies with ldd; and the CUDA build's
// addon (build-cuda/, `npm run build:cuda`) loads and serves on the CPU of a machine without a GPU.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

/** The torch/c10 libraries `file` needs, as ldd resolves them: name -> path. */
function torchLibraries(file: string): Map<string, string> {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  const libs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\s*(lib(?:torch|c10)[\w.-]*\.so[\w.]*)\s+=>\s+(\S+)/.exec(line);
    if (m) libs.set(m[1]!, m[2]!);
  }
  return libs;
}

const builds = [
  { name: 'CPU', dir: 'build', venv: '.venv' },
  { name: 'CUDA', dir: 'build-cuda', venv: '.venv-cuda' },
];

describe.each(builds)('the $name build', ({ dir, venv }) => {
  const addon = join(repoRoot, dir, 'Release', 'higgs_audio.node');
  const built = existsSync(addon);

  it.skipIf(!built)(`links only the libtorch of ${venv}`, () => {
    for (const binary of [addon, join(repoRoot, dir, 'test_lm'), join(repoRoot, dir, 'higgs-bench')]) {
      const libs = torchLibraries(binary);
      expect([...libs.keys()], binary).toEqual(expect.arrayContaining(['libtorch.so', 'libc10.so', 'libtorch_cpu.so']));
      const dirs = new Set([...libs.values()].map((path) => dirname(path)));
      expect(dirs.size, `${binary}: ${[...libs.values()].join(', ')}`).toBe(1);
      expect([...dirs][0]).toMatch(new RegExp(`^${join(repoRoot, venv)}/lib/python3\\.\\d+/site-packages/torch/lib$`));
    }
  });
});

describe('the CUDA build without a GPU', () => {
  const addon = join(repoRoot, 'build-cuda', 'Release', 'higgs_audio.node');

  it.skipIf(!existsSync(addon))('loads and generates on the CPU', () => {
    // A child process: this one has the CPU build's libtorch loaded already.
    const script = `
      import { loadNative } from ${JSON.stringify(join(repoRoot, 'dist', 'lib', 'native', 'loader.js'))};
      const { Engine, cudaAvailable } = loadNative();
      const engine = new Engine({ device: 'cpu', dtype: 'float32', maxContext: 256 });
      const info = await engine.load(${JSON.stringify(tinyHfDir)});
      await engine.loadCodec(${JSON.stringify(join(goldensDir, 'codec'))});
      const ids = Int32Array.from([128000, 128006, 882, 128007, 271, 9906, 128009, 128006, 78191, 128007, 271, 128013]);
      const out = await engine.generate({ inputIds: ids, audioMask: new Uint8Array(ids.length), temperature: 0, topK: 0, topP: 1, rasWindow: 0, rasMaxRepeats: 2, maxFrames: 20, seed: 1 });
      const samples = await engine.decodeAudio(out.codes, out.frames);
      console.log(JSON.stringify({ cuda: cudaAvailable(), device: info.device, columns: out.columns, frames: out.frames, samples: samples.length }));
      await engine.dispose();
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, HIGGS_AUDIO_ADDON: addon, CUDA_VISIBLE_DEVICES: '' },
    });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { cuda: boolean; device: string; columns: number; frames: number; samples: number };
    expect(report).toMatchObject({ cuda: false, device: 'cpu' });
    expect(report.columns).toBeGreaterThan(0);
    expect(report.samples).toBe(report.frames * 960);
  });
});
