// The pull cache's location (one module: lib/hub/cache-dir.ts), what counts as a finished pull
// (lib/hub/manifest.ts), and loadConfig's lookup order: env -> volume -> pull cache -> bundled.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { pullCacheDirs, pullCacheRoot } from '../../lib/hub/cache-dir.js';
import { hubSettings } from '../../lib/hub/hub-settings.js';
import { isCompletePull, MANIFEST_FILE, newManifest, writeManifest } from '../../lib/hub/manifest.js';
import { pullRepo } from '../../lib/hub/pull-repo.js';
import { CODEC_REPO, MODEL_REPO } from '../../lib/hub/repos.js';
import { runpodVolume } from '../../lib/runpod/volume.js';
import { FakeHub } from '../support/fake-hub.js';
import { codecFixtureDir, codecRepo, modelRepo } from '../support/hub-repos.js';
import { tinyHfDir } from '../setup/fixture-paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'higgs-cache-'));
const noVolume = { volume: runpodVolume(join(scratch, 'no-volume')) };

describe('pullCacheRoot', () => {
  it.each([
    [{ HIGGS_CACHE_DIR: '/data/models', XDG_CACHE_HOME: '/xdg', HOME: '/home/u' }, '/data/models'],
    [{ HIGGS_CACHE_DIR: '  ', XDG_CACHE_HOME: '/xdg', HOME: '/home/u' }, '/xdg/higgs-audio'],
    [{ XDG_CACHE_HOME: 'relative/xdg', HOME: '/home/u' }, '/home/u/.cache/higgs-audio'],
    [{ HOME: '/home/u' }, '/home/u/.cache/higgs-audio'],
    [{ USERPROFILE: '/users/u' }, '/users/u/.cache/higgs-audio'],
    [{}, null],
  ])('%j -> %s', (env, root) => {
    expect(pullCacheRoot(env)).toBe(root);
  });

  it('resolves a relative HIGGS_CACHE_DIR and lays repositories out as OWNER/NAME below it', () => {
    expect(pullCacheRoot({ HIGGS_CACHE_DIR: 'models' })).toBe(resolve('models'));
    expect(pullCacheDirs({ HIGGS_CACHE_DIR: '/c' })).toEqual({
      modelDir: '/c/bosonai/higgs-audio-v2-generation-3B-base',
      codecDir: '/c/bosonai/higgs-audio-v2-tokenizer',
    });
  });

  it('the RunPod volume uses the same OWNER/NAME layout', () => {
    expect(runpodVolume('/v')).toMatchObject({ modelDir: `/v/${MODEL_REPO}`, codecDir: `/v/${CODEC_REPO}` });
  });
});

describe('isCompletePull', () => {
  const folder = (name: string): string => {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{}');
    writeFileSync(join(dir, 'model.safetensors'), 'weights');
    return dir;
  };
  const files = [
    { path: 'config.json', size: 2, sha256: '0'.repeat(64) },
    { path: 'model.safetensors', size: 7, sha256: '1'.repeat(64) },
  ];
  const manifest = (needsConversion = false) => newManifest({ repo: 'o/r', revision: 'main', commit: 'c'.repeat(40), endpoint: 'http://x', files, needsConversion });

  it('needs a manifest whose files are all there with their sizes', async () => {
    const dir = folder('complete');
    expect(isCompletePull(dir)).toBe(false); // no manifest: a pull still running, or killed
    await writeManifest(dir, manifest());
    expect(isCompletePull(dir)).toBe(true);
    truncateSync(join(dir, 'model.safetensors'), 3);
    expect(isCompletePull(dir)).toBe(false);
    rmSync(join(dir, 'model.safetensors'));
    expect(isCompletePull(dir)).toBe(false);
  });

  it('refuses a pull that needs converting, and a manifest it cannot read', async () => {
    const pth = folder('pth');
    await writeManifest(pth, manifest(true));
    expect(isCompletePull(pth)).toBe(false);
    const broken = folder('broken');
    writeFileSync(join(broken, MANIFEST_FILE), '{"version": 1');
    expect(isCompletePull(broken)).toBe(false);
  });
});

describe('loadConfig finds what pull put in the cache', () => {
  let hub: FakeHub;
  const cache = join(scratch, 'cache');

  beforeAll(async () => {
    hub = await FakeHub.start();
    hub.addRepo(MODEL_REPO, modelRepo());
    hub.addRepo(CODEC_REPO, codecRepo());
    for (const repo of [MODEL_REPO, CODEC_REPO]) {
      await pullRepo({ repo, revision: 'main', dir: join(cache, repo), hub: hubSettings({ HF_ENDPOINT: hub.url }) });
    }
  });
  afterAll(async () => {
    await hub.close();
  });

  it('takes the pulled model and codec when no variable names them', () => {
    const config = loadConfig({ HIGGS_CACHE_DIR: cache }, noVolume);
    expect(config).toMatchObject({ modelDir: join(cache, MODEL_REPO), codecDir: join(cache, CODEC_REPO) });
    expect(config.sources).toMatchObject({ modelDir: 'cache', codecDir: 'cache' });
    // The library's own default (no volume) finds it too.
    expect(loadConfig({ HIGGS_CACHE_DIR: cache }).sources.modelDir).toBe('cache');
  });

  it('the variables come first, then the volume; then the cache; then the bundled model', () => {
    const env = loadConfig({ HIGGS_CACHE_DIR: cache, HIGGS_MODEL_DIR: tinyHfDir }, noVolume);
    expect(env.sources).toMatchObject({ modelDir: 'env', codecDir: 'cache' });

    const root = join(scratch, 'volume');
    const volume = runpodVolume(root);
    mkdirSync(volume.modelDir, { recursive: true });
    writeFileSync(join(volume.modelDir, 'config.json'), '{}');
    const withVolume = loadConfig({ HIGGS_CACHE_DIR: cache }, { volume });
    expect(withVolume).toMatchObject({ modelDir: volume.modelDir, codecDir: join(cache, CODEC_REPO) });
    expect(withVolume.sources).toMatchObject({ modelDir: 'volume', codecDir: 'cache' });

    const empty = loadConfig({ HIGGS_CACHE_DIR: join(scratch, 'empty-cache') }, noVolume);
    expect(empty).toMatchObject({ modelDir: tinyHfDir, codecDir: codecFixtureDir });
    expect(empty.sources).toMatchObject({ modelDir: 'bundled', codecDir: 'bundled' });
  });

  it('passes over a pull that has not finished (no manifest yet)', async () => {
    const half = join(scratch, 'half');
    const dir = join(half, MODEL_REPO);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{}');
    expect(loadConfig({ HIGGS_CACHE_DIR: half }, noVolume).sources.modelDir).toBe('bundled');
    // A caller may also turn the cache off.
    expect(loadConfig({ HIGGS_CACHE_DIR: cache }, { ...noVolume, cache: null }).sources.modelDir).toBe('bundled');
  });
});
