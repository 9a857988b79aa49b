#!/usr/bin/env node
// Runs every test (vitest, then the native tests through ctest) and ends with the one line CI
// reads: `tests: N passed, M failed`. Exits non-zero if anything failed or nothing ran.
// --with-cuda-build (CI) first builds the CUDA configuration into build-cuda/ (compile and link,
// no GPU needed) and counts it as one test; vitest then checks that its addon serves on the CPU.
// --with-image-rehearsal (CI) then measures the image's runtime stage (npm run image:report) and
// runs it in a minimal Debian root (scripts/docker/rehearse-runtime.sh): two more tests.
// --with-node24-smoke (CI) runs the addon and dist/ built here under the image's Node 24
// (scripts/node24-smoke.mjs: speak byte-identical to this Node's, serve with the openai client,
// the one-shot worker) and counts it as one test.
// --with-package-smoke (CI) packs the package, installs it into an empty project, runs
// `npx higgs-audio setup` there and speaks with the tiny model (scripts/package-smoke.mjs): one test.
// --with-setup-rehearsal (CI, root) does the same on a minimal Debian 12 root with only Node 20,
// where setup installs the Debian packages itself (scripts/rehearse-setup.sh): one test.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const vitestReport = 'build/vitest-report.json';
const withCudaBuild = process.argv.includes('--with-cuda-build');
const withRehearsal = process.argv.includes('--with-image-rehearsal');
const withNode24Smoke = process.argv.includes('--with-node24-smoke');
const withPackageSmoke = process.argv.includes('--with-package-smoke');
const withSetupRehearsal = process.argv.includes('--with-setup-rehearsal');

function run(command, args) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
  process.stdout.write(result.stdout ?? '');
  return result;
}

/** One step counted as one test: its output goes to a log, and is shown when it fails (else only
 * the lines `keep` picks). Returns 1 when it passed. */
function step(name, command, args, logFile, keep = /^$/) {
  console.log(`${name}: ${command} ${args.join(' ')} (log: ${logFile})`);
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  const ok = r.status === 0;
  if (!ok) process.stdout.write(`${(r.stdout ?? '').slice(-6000)}${(r.stderr ?? '').slice(-6000)}\n`);
  else for (const line of (r.stdout ?? '').split('\n').filter((l) => l && keep.test(l))) console.log(line);
  console.log(`${name}: ${ok ? 'ok' : 'FAILED'}`);
  return ok ? 1 : 0;
}

const cudaBuildPassed = withCudaBuild ? step('cuda build', 'bash', ['scripts/build-native.sh', 'cuda'], 'build/cuda-build.log') : 0;
let rehearsalPassed = 0;
if (withRehearsal) {
  rehearsalPassed += step('image report', 'node', ['scripts/docker/image-report.mjs'], 'build/image-report.log', /^(image report|  )/);
  if (rehearsalPassed) rehearsalPassed += step('image rehearsal', 'bash', ['scripts/docker/rehearse-runtime.sh'], 'build/image-rehearsal.log', /^rehearse-runtime/);
}
const node24SmokePassed = withNode24Smoke ? step('node24 smoke', 'node', ['scripts/node24-smoke.mjs'], 'build/node24-smoke.log', /^node24 smoke: /) : 0;
const packageSmokePassed = withPackageSmoke ? step('package smoke', 'node', ['scripts/package-smoke.mjs'], 'build/package-smoke.log', /^package smoke: /) : 0;
const setupRehearsalPassed = withSetupRehearsal ? step('setup rehearsal', 'bash', ['scripts/rehearse-setup.sh'], 'build/setup-rehearsal.log', /^rehearse-setup: /) : 0;

// Type check of the library and the tests (vitest itself does not type-check): one test.
const typecheck = run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.test.json']);
const typecheckPassed = typecheck.status === 0 ? 1 : 0;
console.log(`typecheck: ${typecheckPassed ? 'ok' : 'FAILED'}`);

// vitest: count individual tests from its JSON report.
rmSync(vitestReport, { force: true });
const vitest = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestReport}`]);
let vitestPassed = 0;
let vitestFailed = 0;
try {
  const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
  vitestPassed = report.numPassedTests;
  vitestFailed = report.numFailedTests + (report.numTotalTestSuites > 0 && !report.success && report.numFailedTests === 0 ? 1 : 0);
} catch {
  vitestFailed = 1; // no report: vitest itself failed
}
if (vitest.status !== 0 && vitestFailed === 0) vitestFailed = 1;

// ctest: each executable prints "N passed, M failed" for its own cases; a crash prints none.
const ctest = run('ctest', ['--test-dir', 'build', '--output-on-failure', '-V']);
let nativePassed = 0;
let nativeFailed = 0;
const executables = [...(ctest.stdout ?? '').matchAll(/^\d+: (\d+) passed, (\d+) failed$/gm)];
for (const match of executables) {
  nativePassed += Number(match[1]);
  nativeFailed += Number(match[2]);
}
const ctestSummary = /(\d+) tests failed out of (\d+)/.exec(ctest.stdout ?? '');
const crashed = ctestSummary ? Number(ctestSummary[2]) - executables.length : 0;
if (crashed > 0) nativeFailed += crashed;
if (ctest.status !== 0 && nativeFailed === 0) nativeFailed = 1;

const cudaTests = withCudaBuild ? 1 : 0;
const rehearsalTests = withRehearsal ? 2 : 0;
const node24SmokeTests = withNode24Smoke ? 1 : 0;
const packageSmokeTests = withPackageSmoke ? 1 : 0;
const setupRehearsalTests = withSetupRehearsal ? 1 : 0;
const passed =
  vitestPassed + nativePassed + typecheckPassed + cudaBuildPassed + rehearsalPassed + node24SmokePassed + packageSmokePassed + setupRehearsalPassed;
const failed =
  vitestFailed +
  nativeFailed +
  (1 - typecheckPassed) +
  (cudaTests - cudaBuildPassed) +
  (rehearsalTests - rehearsalPassed) +
  (node24SmokeTests - node24SmokePassed) +
  (packageSmokeTests - packageSmokePassed) +
  (setupRehearsalTests - setupRehearsalPassed);
console.log(`vitest: ${vitestPassed} passed, ${vitestFailed} failed; native: ${nativePassed} passed, ${nativeFailed} failed`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
