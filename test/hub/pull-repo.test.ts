// pullRepo against a fake Hub on loopback: the files the engine reads land verified, one copy
// of the weights, the manifest last; a second pull is a no-op; dropped connections resume with
// Range in the same run and from the partial in the next; bad bytes never get a file's name;
// the Hub's refusals become clear errors with stable codes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HiggsError } from '../../lib/common/errors.js';
import { hubSettings } from '../../lib/hub/hub-settings.js';
import { MANIFEST_FILE, readManifest } from '../../lib/hub/manifest.js';
import type { PullEvent } from '../../lib/hub/pull-events.js';
import { pullRepo, type PullRepoOptions } from '../../lib/hub/pull-repo.js';
import { FakeHub, sha256 } from '../support/fake-hub.js';
import { codecRepo, modelRepo, originalCodecRepo, shardedModelRepo } from '../support/hub-repos.js';

const scratch = mkdtempSync(join(tmpdir(), 'higgs-pull-'));
const FAST = { retries: 3, baseDelayMs: 1, maxDelayMs: 5 };
let hub: FakeHub;
let counter = 0;

beforeAll(async () => {
  hub = await FakeHub.start();
});
afterAll(async () => {
  await hub.close();
});

/** A fresh repository name and folder per test, so tests share one server without meeting. */
function fresh(files: Record<string, Buffer>, options: { gated?: boolean } = {}) {
  counter += 1;
  const repo = `tiny/repo-${counter}`;
  const commit = hub.addRepo(repo, files, options);
  return { repo, commit, files, dir: join(scratch, `dir-${counter}`) };
}

function pull(repo: string, dir: string, extra: Partial<PullRepoOptions> = {}) {
  return pullRepo({ repo, revision: 'main', dir, hub: hubSettings({ HF_ENDPOINT: hub.url }), retry: FAST, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<HiggsError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HiggsError);
    return error as HiggsError;
  }
  throw new Error('the pull succeeded');
}

const onDisk = (dir: string): string[] => readdirSync(dir).sort();

describe('a full pull', () => {
  it('fetches what the engine reads, verified, pinned to the commit, with the manifest last', async () => {
    const { repo, commit, files, dir } = fresh(modelRepo());
    const events: PullEvent[] = [];
    const result = await pull(repo, dir, { onEvent: (event) => events.push(event) });
    expect(onDisk(dir)).toEqual([MANIFEST_FILE, 'config.json', 'model.safetensors', 'tokenizer.json']);
    for (const name of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(readFileSync(join(dir, name)).equals(files[name]!)).toBe(true);
    expect(result).toMatchObject({ repo, commit, upToDate: false, needsConversion: false });
    expect(result.skipped.map((s) => s.path).sort()).toEqual(['.gitattributes', 'README.md', 'figures/overview.png']);
    const manifest = readManifest(dir)!;
    expect(manifest).toMatchObject({ repo, revision: 'main', commit, endpoint: hub.url });
    expect(manifest.files.find((f) => f.path === 'model.safetensors')).toEqual({ path: 'model.safetensors', size: files['model.safetensors']!.length, sha256: sha256(files['model.safetensors']!) });
    // Every byte request names the commit, never the branch; the LFS file came through the CDN redirect.
    const resolves = hub.requests.filter((r) => r.repo === repo && r.kind === 'resolve');
    expect(resolves.length).toBeGreaterThan(0);
    for (const r of resolves) expect(r.url).toContain(`/resolve/${commit}/`);
    expect(hub.requests.some((r) => r.kind === 'cdn' && r.repo === repo && r.file === 'model.safetensors')).toBe(true);
    expect(events.map((e) => e.type)).toContain('plan');
  });

  it('takes only the shards of a sharded repository, never the consolidated copy beside them', async () => {
    const { repo, files, dir } = fresh(shardedModelRepo());
    await pull(repo, dir);
    expect(onDisk(dir)).toEqual([MANIFEST_FILE, 'config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    expect(hub.requests.filter((r) => r.repo === repo && r.file === 'model.safetensors')).toEqual([]);
    expect(readFileSync(join(dir, 'model-00002-of-00002.safetensors')).equals(files['model-00002-of-00002.safetensors']!)).toBe(true);
  });

  it('follows the listing across pages', async () => {
    const { repo, dir } = fresh(codecRepo());
    hub.pageSize = 2;
    try {
      await pull(repo, dir);
    } finally {
      hub.pageSize = 1000;
    }
    expect(onDisk(dir)).toEqual([MANIFEST_FILE, 'config.json', 'model.safetensors']);
  });

  it('a second pull of the same commit verifies and changes nothing', async () => {
    const { repo, dir } = fresh(codecRepo());
    await pull(repo, dir);
    const before = statSync(join(dir, MANIFEST_FILE)).mtimeMs;
    const byteRequests = hub.byteRequestsFor('model.safetensors').length;
    const events: PullEvent[] = [];
    const again = await pull(repo, dir, { onEvent: (event) => events.push(event) });
    expect(again.upToDate).toBe(true);
    expect(again.fetchedBytes).toBe(0);
    expect(events.some((e) => e.type === 'up-to-date')).toBe(true);
    expect(hub.byteRequestsFor('model.safetensors').length).toBe(byteRequests);
    expect(statSync(join(dir, MANIFEST_FILE)).mtimeMs).toBe(before);
  });

  it('replaces a damaged file on the next pull', async () => {
    const { repo, files, dir } = fresh(codecRepo());
    await pull(repo, dir);
    writeFileSync(join(dir, 'config.json'), '{"damaged": true}');
    const again = await pull(repo, dir);
    expect(again.upToDate).toBe(false);
    expect(readFileSync(join(dir, 'config.json')).equals(files['config.json']!)).toBe(true);
  });

  it('moves to a new commit: the manifest goes first, files the commit dropped go, the new manifest comes last', async () => {
    const { repo, dir } = fresh(modelRepo());
    await pull(repo, dir);
    const sharded = hub.addRepo(repo, shardedModelRepo());
    const result = await pull(repo, dir);
    expect(result.commit).toBe(sharded);
    expect(onDisk(dir)).not.toContain('model.safetensors');
    expect(readManifest(dir)?.commit).toBe(sharded);
  });

  it('pins a revision given as a commit sha, and refuses an unknown one', async () => {
    const { repo, commit, dir } = fresh(codecRepo());
    expect((await pull(repo, dir, { revision: commit })).commit).toBe(commit);
    const error = await failure(pull(repo, join(scratch, 'no-rev'), { revision: 'v9' }));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('revision "v9" not found in');
  });

  it('fetches model.pth from an original codec release and says it needs converting (not a loadable pull)', async () => {
    const { repo, dir } = fresh(originalCodecRepo());
    const result = await pull(repo, dir);
    expect(result.needsConversion).toBe(true);
    expect(onDisk(dir)).toEqual([MANIFEST_FILE, 'config.json', 'model.pth']);
    expect(readManifest(dir)?.needsConversion).toBe(true);
  });
});

describe('interrupted downloads', () => {
  it('resumes with Range in the same run after the connection is cut mid-file', async () => {
    const { repo, files, dir } = fresh(codecRepo());
    const size = files['model.safetensors']!.length;
    hub.fault = (file, n) => (file === 'model.safetensors' && n === 1 ? { cutAfter: 200_000 } : undefined);
    const events: PullEvent[] = [];
    try {
      await pull(repo, dir, { onEvent: (event) => events.push(event) });
    } finally {
      hub.fault = () => undefined;
    }
    expect(readFileSync(join(dir, 'model.safetensors')).equals(files['model.safetensors']!)).toBe(true);
    const ranges = hub.byteRequestsFor('model.safetensors').filter((r) => r.repo === repo).map((r) => r.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeUndefined();
    const start = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThan(size);
    expect(events.some((e) => e.type === 'retry' && e.path === 'model.safetensors')).toBe(true);
    expect(existsSync(join(dir, 'model.safetensors.part'))).toBe(false);
  });

  it('keeps the partial when retries run out, and the next run resumes from its size', async () => {
    const { repo, files, dir } = fresh(codecRepo());
    hub.fault = (file, n) => (file !== 'model.safetensors' ? undefined : n === 1 ? { cutAfter: 300_000 } : { status: 503 });
    const error = await failure(pull(repo, dir)).finally(() => (hub.fault = () => undefined));
    expect(error.code).toBe('E_DOWNLOAD');
    expect(error.message).toContain('run pull again to resume');
    const part = join(dir, 'model.safetensors.part');
    const kept = statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);

    const seen = hub.byteRequestsFor('model.safetensors').length;
    const events: PullEvent[] = [];
    await pull(repo, dir, { onEvent: (event) => events.push(event) });
    const next = hub.byteRequestsFor('model.safetensors').slice(seen);
    expect(next.map((r) => r.range)).toEqual([`bytes=${kept}-`]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'file-start', path: 'model.safetensors', offset: kept }));
    expect(readFileSync(join(dir, 'model.safetensors')).equals(files['model.safetensors']!)).toBe(true);
  });

  it('an interrupt (AbortSignal) stops with E_CANCELLED and keeps the partial', async () => {
    const { repo, dir } = fresh(codecRepo());
    const interrupt = new AbortController();
    const error = await failure(
      pull(repo, dir, {
        onEvent: (event) => {
          if (event.type === 'bytes' && event.path === 'model.safetensors' && event.have > 100_000) interrupt.abort();
        },
        signal: interrupt.signal,
      }),
    );
    expect(error.code).toBe('E_CANCELLED');
    expect(statSync(join(dir, 'model.safetensors.part')).size).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
  });

  it('starts over when the server ignores Range', async () => {
    const { repo, files, dir } = fresh(codecRepo());
    hub.fault = (file, n) => (file !== 'model.safetensors' ? undefined : n === 1 ? { cutAfter: 100_000 } : { ignoreRange: true });
    await pull(repo, dir).finally(() => (hub.fault = () => undefined));
    expect(readFileSync(join(dir, 'model.safetensors')).equals(files['model.safetensors']!)).toBe(true);
  });
});

describe('verification and errors', () => {
  it('altered bytes fail with the file named, and leave nothing at its name or as a partial', async () => {
    const { repo, dir } = fresh(codecRepo());
    hub.fault = (file) => (file === 'model.safetensors' ? { alter: true } : undefined);
    const error = await failure(pull(repo, dir)).finally(() => (hub.fault = () => undefined));
    expect(error.code).toBe('E_DOWNLOAD');
    expect(error.message).toMatch(/model\.safetensors of tiny\/repo-\d+@[0-9a-f]{40} does not verify \(sha256 [0-9a-f]{64}, the Hub lists [0-9a-f]{64}\)/);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dir, 'model.safetensors.part'))).toBe(false);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);
  });

  it('checks files kept in git (not LFS) by their git blob id', async () => {
    const { repo, dir } = fresh(codecRepo());
    hub.fault = (file) => (file === 'config.json' ? { alter: true } : undefined);
    const error = await failure(pull(repo, dir)).finally(() => (hub.fault = () => undefined));
    expect(error.message).toContain('config.json');
    expect(error.message).toContain('git blob id');
  });

  it('an unknown repository is E_INPUT', async () => {
    const error = await failure(pull('nobody/nothing', join(scratch, 'none')));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain(`repository nobody/nothing on ${hub.url}`);
    expect(error.message).toContain('not found');
  });

  it('a gated repository needs HF_TOKEN: E_AUTH without it, success with it', async () => {
    const { repo, dir } = fresh(codecRepo(), { gated: true });
    const refused = await failure(pull(repo, dir));
    expect(refused.code).toBe('E_AUTH');
    expect(refused.message).toContain('set HF_TOKEN');
    expect(refused.message).toContain('licence');
    const wrong = await failure(pull(repo, dir, { hub: hubSettings({ HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_wrong' }) }));
    expect(wrong.code).toBe('E_AUTH');
    expect(wrong.message).toContain('HF_TOKEN was sent');
    const result = await pull(repo, dir, { hub: hubSettings({ HF_ENDPOINT: hub.url, HF_TOKEN: hub.token }) });
    expect(result.files).toHaveLength(2);
    const asked = hub.requests.filter((r) => r.repo === repo && r.kind !== 'cdn' && r.status === 200);
    for (const r of asked) expect(r.authorization).toBe(`Bearer ${hub.token}`);
  });

  it('a full disk fails before downloading, saying how much is needed', async () => {
    const { repo, dir } = fresh(codecRepo());
    const error = await failure(pull(repo, dir, { freeBytes: async () => 1000 }));
    expect(error.code).toBe('E_DISK_FULL');
    expect(error.message).toMatch(/the download needs 1\.\d+ MB, 1\.00 kB is free/);
    expect(hub.byteRequestsFor('model.safetensors').filter((r) => r.repo === repo)).toEqual([]);
  });

  it('honours HF_ENDPOINT: a mirror below a path prefix, with a trailing slash', async () => {
    const mirror = await FakeHub.start({ prefix: '/mirror/hf' });
    try {
      mirror.addRepo('tiny/mirrored', codecRepo());
      const dir = join(scratch, 'mirrored');
      const result = await pullRepo({ repo: 'tiny/mirrored', revision: 'main', dir, hub: hubSettings({ HF_ENDPOINT: `${mirror.url}/` }), retry: FAST });
      expect(result.files.map((f) => f.path)).toEqual(['config.json', 'model.safetensors']);
      expect(mirror.requests.filter((r) => r.kind === 'revision' || r.kind === 'tree').every((r) => r.url.startsWith('/mirror/hf/api/models/tiny/mirrored/'))).toBe(true);
      expect(readManifest(dir)?.endpoint).toBe(mirror.url);
    } finally {
      await mirror.close();
    }
  });

  it('refuses an HF_ENDPOINT that is not an http(s) URL', () => {
    expect(() => hubSettings({ HF_ENDPOINT: 'ftp://example' })).toThrow(/HF_ENDPOINT must be an http\(s\) URL/);
    expect(() => hubSettings({ HF_ENDPOINT: 'not a url' })).toThrow(/HF_ENDPOINT/);
    expect(hubSettings({})).toEqual({ endpoint: 'https://huggingface.co' });
  });
});
