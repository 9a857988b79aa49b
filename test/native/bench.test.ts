// higgs-bench, the native harness, run as a process on the CPU with the tiny shape: its JSON
// report has every field BENCHMARKS.md and gpu-check's summary read, with sane values, and bad
// flags are refused with the usage text.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const bench = join(import.meta.dirname, '..', '..', 'build', 'higgs-bench');
const positive = z.number().positive();
const stepStats = z.object({ decode: z.string(), p50_ms: positive, p90_ms: positive, pipelined_ms: positive });

const reportSchema = z.object({
  tool: z.literal('higgs-bench'),
  version: z.literal(2),
  gpu: z.string().min(1),
  model: z.literal('random:tiny'),
  device: z.literal('cpu'),
  dtype: z.literal('float32'),
  weights: z.literal('dense'),
  decode: z.enum(['eager', 'static', 'graph']),
  cuda_graphs: z.boolean(),
  fused_kernels: z.boolean(),
  kv_buckets: z.array(z.number().int().positive()),
  parameters: z.number().int().positive(),
  weight_bytes: z.number().int().positive(),
  load_s: positive,
  graph_capture_s: z.number().nonnegative(),
  prefill_tokens: z.number().int().positive(),
  prefill_ms: positive,
  decode_steps: z.number().int().positive(),
  decode_ms_p50: positive,
  decode_ms_p90: positive,
  decode_ms_pipelined: positive,
  eager: stepStats,
  frames_per_s: positive,
  real_time_factor: positive,
  weight_bytes_per_step: positive,
  achieved_gb_per_s: positive,
  spec_bandwidth_gb_per_s: z.null(),
  fraction_of_bandwidth_bound: z.null(),
  time_to_first_frame: z.object({ first_frame_ms: z.number(), prefill_ms: positive, prompt_positions: z.number().int(), voice_seconds: z.number().int() }),
  request: z.object({ audio_seconds: z.number(), columns: z.number().int().positive(), frames: z.number().int().nonnegative(), stop: z.string(), decode_s: positive, real_time_factor: positive }).passthrough(),
  gpu_memory: z.null(),
  codec: z.object({ codec_decode_ms_per_audio_s: positive, codec_window_ms_per_chunk: positive, decode: z.array(z.object({ audio_s: positive, ms: positive })).min(1) }).passthrough(),
}).strict();

describe('higgs-bench', () => {
  it('writes a complete JSON report for the tiny shape on the CPU', () => {
    expect(existsSync(bench)).toBe(true);
    const json = join(mkdtempSync(join(tmpdir(), 'higgs-bench-')), 'report.json');
    const stdout = execFileSync(bench, ['--shape', 'tiny', '--steps', '4', '--warmup', '1', '--decode', 'static', '--voice-seconds', '2',
      '--request-seconds', '2', '--codec-seconds', '1', '--codec-repeats', '1', '--json', json], { encoding: 'utf8', timeout: 120_000 });
    const report = reportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(stdout).toContain('decode step');
    expect(report.decode).toBe('static');
    expect(report.eager.decode).toBe('eager');
    expect(report.decode_ms_p90).toBeGreaterThanOrEqual(report.decode_ms_p50);
    expect(report.frames_per_s).toBeCloseTo(1e3 / report.decode_ms_p50, 6);
    expect(report.real_time_factor).toBeCloseTo((report.decode_ms_p50 * 25) / 1e3, 9);
    // Weights an audio step reads: less than all of them (no text MLP, no text head).
    expect(report.weight_bytes_per_step).toBeLessThan(report.weight_bytes);
    expect(report.time_to_first_frame.prompt_positions).toBe(32 + 25 * 2 + 1 + 24 + 1);
    expect(report.request.columns).toBeLessThanOrEqual(25 * 2 + 9);
  });

  // Eager decode steps a SlotBatch, static decode a DeviceSlotBatch (the rows' state on the device).
  it.each(['eager', 'static'] as const)('adds a batch sweep with --batch (%s decode): per batch size the step, throughput and a newcomer beside it', (decode) => {
    const json = join(mkdtempSync(join(tmpdir(), 'higgs-bench-')), 'report.json');
    execFileSync(bench, ['--shape', 'tiny', '--steps', '4', '--warmup', '1', '--batch', '1,3', '--batching', 'fast', '--voice-seconds', '2',
      '--request-seconds', '0', '--no-codec', '--decode', decode, '--json', json], { encoding: 'utf8', timeout: 120_000 });
    const row = z.object({
      batch: z.number().int().positive(),
      step_ms_p50: positive,
      step_ms_p90: positive,
      back_to_back_ms: positive,
      frames_per_s: positive,
      real_time_factor: positive,
      weight_bytes_per_step: positive,
      kv_bytes_per_step: positive,
      gb_per_s: positive,
      newcomer_first_audio_ms: positive,
      newcomer_prompt_positions: z.number().int().positive(),
      frame_gap_p50_ms: positive,
      frame_gap_p99_ms: positive,
      graph_capture_s: z.null(),
      graph_pool_bytes: z.null(),
    }).strict();
    const sweep = z.object({ batching: z.literal('fast'), weights: z.literal('dense'), slots: z.literal(4), warmup: z.literal(1), steps: z.literal(4), decode: z.literal(decode),
      graphs: z.literal(false), rows: z.array(row) })
      .strict()
      .parse(JSON.parse(readFileSync(json, 'utf8')).batch_sweep);
    expect(sweep.rows.map((r) => r.batch)).toEqual([1, 3]);
    for (const r of sweep.rows) {
      expect(r.frames_per_s).toBeCloseTo((r.batch * 1e3) / r.step_ms_p50, 6);
      expect(r.real_time_factor).toBeCloseTo((r.step_ms_p50 * 25) / 1e3, 9);
      expect(r.newcomer_prompt_positions).toBe(32 + 25 * 2 + 1 + 24 + 1);
    }
    // The weights are read once whatever the batch; each row reads its own KV.
    expect(sweep.rows[1]!.weight_bytes_per_step).toBe(sweep.rows[0]!.weight_bytes_per_step);
    expect(sweep.rows[1]!.kv_bytes_per_step).toBeGreaterThan(2 * sweep.rows[0]!.kv_bytes_per_step);
  });

  it('refuses bad flags with the usage text and exit code 2', () => {
    for (const args of [['--steps', 'many'], ['--frobnicate', '1'], ['--prompt', '1'], ['--batch', '0'], ['--batch', '1,x'], ['--batch', '256']]) {
      const run = spawnSync(bench, args, { encoding: 'utf8' });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('usage: higgs-bench');
    }
    const mode = spawnSync(bench, ['--shape', 'tiny', '--batch', '1', '--batching', 'quick', '--no-codec', '--request-seconds', '0'], { encoding: 'utf8' });
    expect(mode.status).toBe(1);
    expect(mode.stderr).toContain("E_INPUT: unknown batching mode 'quick' (exact, fast)");
    const ok = spawnSync(bench, ['--help'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('--request-seconds');
  });
});
