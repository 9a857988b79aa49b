/**
 * `higgs-audio setup`: runs lib/setup/setup.ts with a step header per step, the build as a bar
 * (lines at 25% steps when stderr is no terminal), and at the end says where everything went.
 * stdout gets the addon's path alone, for scripts.
 */
import type { SetupArgs } from './args.js';
import { createProgress, wantsBar, type Progress, type ProgressStream } from './progress.js';
import { packageRoot } from '../common/package-root.js';
import { defaultJobs, setup, type SetupResult } from '../setup/setup.js';

export interface SetupIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export async function setupCommand(args: SetupArgs, io: SetupIO): Promise<SetupResult> {
  const progress: Progress = createProgress(io.stderr, wantsBar(io.stderr, io.env));
  const started = Date.now();
  const jobs = args.jobs ?? defaultJobs();
  try {
    const result = await setup({
      root: packageRoot(),
      env: io.env,
      backend: args.backend,
      installSystemPackages: args.installSystemPackages,
      jobs,
      signal: io.signal,
      report: {
        step: (index, total, title) => {
          progress.finish();
          progress.note(`higgs-audio setup [${index}/${total}] ${title}${title === 'the native addon' ? ` (${jobs} jobs)` : ''}`);
        },
        note: (text) => progress.note(`  ${text}`),
        progress: (fraction) => progress.update('  build', fraction),
      },
    });
    progress.finish();
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const built = result.built ? 'built' : 'already built';
    progress.note(
      [
        `higgs-audio setup: done in ${seconds} s. The addon is ${built} and loads (libtorch ${result.torchVersion}, CUDA ${result.cudaVersion}).`,
        `  addon:   ${result.addon}`,
        `  libtorch: ${result.torchDir}`,
        `  log:     ${result.logFile}`,
        `Next: 'higgs-audio pull' fetches the model (about 12 GB), then 'higgs-audio speak --text "Hello."'.`,
      ].join('\n'),
    );
    io.stdout.write(`${result.addon}\n`);
    return result;
  } finally {
    progress.finish();
  }
}
