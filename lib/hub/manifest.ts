/**
 * `.higgs-pull.json`, written beside a pulled repository's files once every one of them was
 * verified, and last, so a folder that a pull left half-written never looks complete. It
 * records the resolved commit and each file's size and sha256: a later pull of the same
 * commit checks against it, and loadConfig takes the folder only when the manifest is there
 * and every file it lists has its size (sizes only: hashing gigabytes at every start is what
 * `pull` is for).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = '.higgs-pull.json';
const MANIFEST_VERSION = 1;

const FileSchema = z.object({
  path: z.string().regex(/^[^/\\]+$/).refine((name) => name !== '.' && name !== '..'),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const ManifestSchema = z.object({
  version: z.literal(MANIFEST_VERSION),
  repo: z.string(),
  /** What was asked for: a branch, a tag or a commit. */
  revision: z.string(),
  /** The commit it resolved to; every file was fetched from this commit. */
  commit: z.string(),
  endpoint: z.string(),
  pulledAt: z.string(),
  files: z.array(FileSchema),
  /** The codec's original release (model.pth): scripts/convert_codec.py must convert it first. */
  needsConversion: z.boolean(),
});

export type PulledFile = z.infer<typeof FileSchema>;
export type PullManifest = z.infer<typeof ManifestSchema>;

export function newManifest(fields: Omit<PullManifest, 'version' | 'pulledAt'>): PullManifest {
  return { version: MANIFEST_VERSION, ...fields, pulledAt: new Date().toISOString() };
}

/** The folder's manifest, or null when there is none or it is not one this version wrote. */
export function readManifest(dir: string): PullManifest | null {
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * A finished pull the engine can load: a manifest listing config.json, no conversion pending,
 * and every listed file present with its recorded size.
 */
export function isCompletePull(dir: string): boolean {
  const manifest = readManifest(dir);
  if (manifest === null || manifest.needsConversion) return false;
  if (!manifest.files.some((file) => file.path === 'config.json')) return false;
  return manifest.files.every((file) => {
    const path = join(dir, file.path);
    return existsSync(path) && statSync(path).size === file.size;
  });
}

/** Written to a temporary name and renamed, so a reader sees the old manifest or the new one. */
export async function writeManifest(dir: string, manifest: PullManifest): Promise<void> {
  const temporary = join(dir, `${MANIFEST_FILE}.tmp`);
  await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temporary, join(dir, MANIFEST_FILE));
}

/** Before a folder's files change, so it stops claiming to be complete. */
export async function removeManifest(dir: string): Promise<void> {
  await rm(join(dir, MANIFEST_FILE), { force: true });
}
