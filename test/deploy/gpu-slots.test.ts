// The table "GPU memory -> slots" of the RunPod guide (docs/deploy-runpod.md), recomputed with the engine's own
// arithmetic: native/core/engine/slot_memory.h (derived_slots, check_slot_memory, the 4 GiB
// working reserve) compiled into a tiny program, so the table cannot drift from the engine. Also:
// hub.json offers exactly the RunPod GPU pools of the table, and the image's kernels cover them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

// bosonai/higgs-audio-v2-generation-3B-base in bf16: its parameter count (config.json + shards),
// and the codec (bosonai/higgs-audio-v2-tokenizer, fp32: 201.4 M parameters).
const WEIGHT_BYTES = 5_771_283_456 * 2;
// The same with HIGGS_WEIGHTS=int8: the projections (28 layers of q, k, v, o and both FFNs'
// gate/up/down, the audio and text heads) as int8 plus a bf16 scale per output row, the
// embeddings and norms in bf16; what the engine's load plan counts, and what higgs-bench reports
// for the full shape (BENCHMARKS.md).
const INT8_WEIGHT_BYTES = 6_193_758_752;
const CODEC_BYTES = 201_400_000 * 4;
// K and V of 28 layers x 8 KV heads x 128 dims in bf16, per position of one slot's cache.
const KV_BYTES_PER_POSITION = 28 * 8 * 128 * 2 * 2;

/** RunPod's serverless GPU pools by memory (GB as RunPod names them) and the compute capability of their GPUs. */
const POOLS: { gb: number; pools: { id: string; gpus: string; arch: string }[] }[] = [
  { gb: 16, pools: [] }, // no serverless pool offered: bf16 weights leave less than the working reserve
  { gb: 24, pools: [{ id: 'ADA_24', gpus: 'L4, RTX 4090', arch: '8.9' }, { id: 'AMPERE_24', gpus: 'RTX A4500 (20 GB), RTX A5000, RTX 3090', arch: '8.6' }] },
  { gb: 32, pools: [{ id: 'ADA_32_PRO', gpus: 'RTX 5090', arch: '12.0' }] },
  { gb: 48, pools: [{ id: 'AMPERE_48', gpus: 'A40, RTX A6000', arch: '8.6' }, { id: 'ADA_48_PRO', gpus: 'L40, L40S, RTX 6000 Ada', arch: '8.9' }] },
  { gb: 80, pools: [{ id: 'AMPERE_80', gpus: 'A100 80GB', arch: '8.0' }, { id: 'ADA_80_PRO', gpus: 'H100', arch: '9.0' }] },
  { gb: 96, pools: [{ id: 'BLACKWELL_96', gpus: 'RTX PRO 6000', arch: '12.0' }] },
  { gb: 141, pools: [{ id: 'HOPPER_141', gpus: 'H200', arch: '9.0' }] },
  { gb: 180, pools: [{ id: 'BLACKWELL_180', gpus: 'B200', arch: '10.0' }] },
];

const temp = mkdtempSync(join(tmpdir(), 'higgs-gpu-slots-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/**
 * derived_slots() of slot_memory.h for each `available`: the engine's eager default on a GPU. The
 * program fails if check_slot_memory() (at most 3/4 of the free memory in extra KV caches), which
 * the engine applies to its own default, would refuse it.
 */
function engineSlots(cacheBytes: number, available: number[]): { reserve: number; slots: number[] } {
  const source = join(temp, 'slots.cc');
  writeFileSync(
    source,
    `#include "engine/slot_memory.h"
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
  std::printf("%lld\\n", static_cast<long long>(higgs::kGpuWorkingReserve));
  const long long cache = std::atoll(argv[1]);
  for (int i = 2; i < argc; ++i) {
    const long long available = std::atoll(argv[i]);
    const auto slots = higgs::derived_slots(available, cache);
    try {
      higgs::check_slot_memory(slots, slots - 1, cache, available, "the GPU");
    } catch (const higgs::HiggsError& e) {
      std::fprintf(stderr, "derived %lld slots refused: %s\\n", static_cast<long long>(slots), e.what());
      return 1;
    }
    std::printf("%lld\\n", static_cast<long long>(slots));
  }
}
`,
  );
  const exe = join(temp, 'slots');
  execFileSync('c++', ['-std=c++17', `-I${join(root, 'native', 'core')}`, source, '-o', exe]);
  const [reserve, ...slots] = execFileSync(exe, [String(cacheBytes), ...available.map(String)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  return { reserve: reserve!, slots };
}

/** The guide's table: GB are 10^9 bytes (at or under every card's real size); slot 0's cache and the codec count as loaded. */
function slotTable(): string {
  const context = loadConfig({}).maxContext;
  const cacheBytes = KV_BYTES_PER_POSITION * context;
  const free = (weights: number) => POOLS.map(({ gb }) => gb * 1e9 - weights - CODEC_BYTES - cacheBytes);
  const [dense, int8] = [free(WEIGHT_BYTES), free(INT8_WEIGHT_BYTES)];
  const { reserve, slots } = engineSlots(cacheBytes, dense);
  const { slots: int8Slots } = engineSlots(cacheBytes, int8);
  expect(reserve).toBe(4 * 2 ** 30);
  const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  // Below the working reserve the engine still derives one slot, but nothing is left to work in.
  const cell = (available: number, n: number) => (available < reserve ? `${gib(available)} GiB | too small` : `${gib(available)} GiB | ${n}`);
  const rows = POOLS.map(({ gb, pools }, i) => {
    const named = pools.length ? pools.map((p) => `\`${p.id}\` (${p.gpus})`).join(', ') : 'none offered';
    return `| ${gb} GB | ${named} | ${cell(dense[i]!, slots[i]!)} | ${cell(int8[i]!, int8Slots[i]!)} |`;
  });
  return [
    `| GPU memory | RunPod pools | Free after the weights, the codec and slot 0's KV cache | Slots (${context} positions, ${cacheBytes / 2 ** 20} MiB of KV each) | Free with int8 weights | Slots with int8 weights |`,
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

describe('GPU memory -> slots (docs/deploy-runpod.md)', () => {
  it('the guide\'s table is what slot_memory.h derives at the default HIGGS_MAX_CONTEXT', () => {
    const table = slotTable();
    expect(read('docs/deploy-runpod.md'), `docs/deploy-runpod.md should hold this table:\n${table}\n`).toContain(table);
  });

  it('hub.json offers exactly the pools of the table, and the image builds kernels for each of their GPUs', () => {
    const hub = JSON.parse(read('.runpod/hub.json'));
    const pools = POOLS.flatMap((row) => row.pools);
    expect(hub.config.gpuIds.split(',').sort()).toEqual(pools.map((p) => p.id).sort());
    const archs = /^ARG CUDA_ARCH_LIST="([^"]+)"$/m.exec(read('Dockerfile.runpod.optimized'))![1]!.split(';').map((a) => a.replace(/\+PTX$/, ''));
    for (const p of pools) expect(archs, `${p.id} (${p.gpus})`).toContain(p.arch);
  });
});
