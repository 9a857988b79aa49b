/**
 * `higgs-audio pull`: fetch the model and codec repositories from the Hugging Face Hub into
 * DIR/<owner>/<name> (--to DIR, else the pull cache) with lib/hub/pull-repo.ts, one repository
 * after the other. stdout gets each repository's folder, one per line; stderr the progress.
 */
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PullArgs } from './args.js';
import { createPullReporter } from './pull-progress.js';
import type { ProgressStream } from './progress.js';
import { HiggsError } from '../common/errors.js';
import { CACHE_DIR_VARIABLE, pullCacheRoot } from '../hub/cache-dir.js';
import { hubSettings } from '../hub/hub-settings.js';
import { pullRepo, type PullResult } from '../hub/pull-repo.js';
import { CODEC_REPO, MODEL_REPO, repoDir } from '../hub/repos.js';

export interface PullIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Draw a bar (stderr is a terminal) rather than JSON log lines. */
  bar: boolean;
  signal?: AbortSignal;
}

export async function pull(args: PullArgs, io: PullIO): Promise<PullResult[]> {
  const hub = hubSettings(io.env);
  const root = await pullRoot(args, io);
  const reporter = createPullReporter(io.stderr, io.bar);
  const results: PullResult[] = [];
  try {
    for (const { repo, revision } of args.repos) {
      const result = await pullRepo({ repo, revision, dir: repoDir(root, repo), hub, signal: io.signal, onEvent: (event) => reporter.event(event) });
      reporter.done(result);
      results.push(result);
      io.stdout.write(`${result.dir}\n`);
      if (result.needsConversion) {
        reporter.note(
          `${result.dir} holds the original codec checkpoint (model.pth), which the engine cannot read: convert it once with ` +
            `\`python3 scripts/convert_codec.py ${result.dir} ${result.dir}-converted\` (scripts/convert_codec.md) and set HIGGS_CODEC_DIR to the output`,
          true,
        );
      }
    }
    const hint = useHint(args, results);
    if (hint) reporter.note(hint);
  } finally {
    reporter.finish();
  }
  return results;
}

/** --to, else the pull cache; created when missing, refused when it is a file. */
async function pullRoot(args: PullArgs, io: PullIO): Promise<string> {
  const given = args.to !== undefined;
  const root = given ? resolve(io.cwd, args.to!) : pullCacheRoot(io.env);
  const name = given ? '--to' : CACHE_DIR_VARIABLE;
  if (root === null) throw new HiggsError('E_INPUT', `no folder for the pull cache: set ${CACHE_DIR_VARIABLE} (or HOME), or give --to DIR`);
  const info = await stat(root).catch(() => null);
  if (info !== null && !info.isDirectory()) throw new HiggsError('E_INPUT', `${name} ${root} is a file, not a directory`);
  try {
    await mkdir(root, { recursive: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new HiggsError('E_INPUT', `cannot create ${name} ${root}: ${code}`, { cause: error });
  }
  return root;
}

/** With --to, how the engine finds what was pulled (the cache it finds by itself). */
function useHint(args: PullArgs, results: readonly PullResult[]): string | undefined {
  if (args.to === undefined) return undefined;
  const model = results.find((result) => result.repo === MODEL_REPO);
  const codec = results.find((result) => result.repo === CODEC_REPO);
  const vars = [model && `HIGGS_MODEL_DIR=${model.dir}`, codec && `HIGGS_CODEC_DIR=${codec.dir}`].filter(Boolean);
  if (!vars.length) return undefined;
  return `to use them, set ${vars.join(' ')} (a RunPod worker whose network volume holds them as /runpod-volume/higgs_audio/<owner>/<name> needs neither)`;
}
