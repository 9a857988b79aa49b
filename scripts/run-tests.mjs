#!/usr/bin/env node
// Runs every test (vitest, then the native tests through ctest) and ends with the one line CI
// reads: `tests: N passed, M failed`. Exits non-zero if anything failed or nothing ran.
// --with-cuda-build (CI) first builds the CUDA configuration into build-cuda/ (compile and link,
// no GPU needed) and counts it as one test; vitest then checks that its addon serves on the CPU.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const vitestReport = 'build/vitest-report.json';
const withCudaBuild = process.argv.includes('--with-cuda-build');

function run(command, args) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
  process.stdout.write(result.stdout ?? '');
  return result;
}

let cudaBuildPassed = 0;
if (withCudaBuild) {
  console.log('cuda build: bash scripts/build-native.sh cuda (log: build/cuda-build.log)');
  const cuda = spawnSync('bash', ['scripts/build-native.sh', 'cuda'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync('build/cuda-build.log', `${cuda.stdout ?? ''}${cuda.stderr ?? ''}`);
  cudaBuildPassed = cuda.status === 0 ? 1 : 0;
  if (!cudaBuildPassed) process.stdout.write(`${(cuda.stdout ?? '').slice(-6000)}${(cuda.stderr ?? '').slice(-6000)}\n`);
  console.log(`cuda build: ${cudaBuildPassed ? 'ok' : 'FAILED'}`);
}

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
const passed = vitestPassed + nativePassed + typecheckPassed + cudaBuildPassed;
const failed = vitestFailed + nativeFailed + (1 - typecheckPassed) + (cudaTests - cudaBuildPassed);
console.log(`vitest: ${vitestPassed} passed, ${vitestFailed} failed; native: ${nativePassed} passed, ${nativeFailed} failed`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
