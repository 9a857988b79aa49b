"""Markdown tables from higgs-bench and transformers-baseline JSON reports (gpu-check.sh).

usage: summarize_bench.py NAME=FILE...   (a missing FILE prints a row saying so)
"""
import json
import os
import sys


def num(d, key, fmt, scale=1.0):
    v = d
    for part in key.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    return format(v * scale, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"


def main(pairs):
    reports = []
    for pair in pairs:
        name, path = pair.split("=", 1)
        reports.append((name, json.load(open(path)) if os.path.exists(path) else None))

    print("| engine / shape | decode | dtype | step ms p50 | p90 | back to back | frames/s | RTF | weights GB/step | GB/s | of bound | prefill ms (512) | load s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, d in reports:
        if d is None:
            print(f"| {name} | missing | | | | | | | | | | | |")
            continue
        decode = d.get("decode", "eager") + (" + fused kernels" if d.get("fused_kernels") else "")
        print(f"| {name} | {decode} | {d.get('dtype', '-')} | {num(d, 'decode_ms_p50', '.3f')} | "
              f"{num(d, 'decode_ms_p90', '.3f')} | {num(d, 'decode_ms_pipelined', '.3f')} | {num(d, 'frames_per_s', '.1f')} | "
              f"{num(d, 'real_time_factor', '.4f')} | {num(d, 'weight_bytes_per_step', '.3f', 1e-9)} | "
              f"{num(d, 'achieved_gb_per_s', '.1f')} | {num(d, 'fraction_of_bandwidth_bound', '.0%')} | "
              f"{num(d, 'prefill_ms', '.2f')} | {num(d, 'load_s', '.2f')} |")

    print()
    print("| engine / shape | eager step ms p50 | graph capture s | first frame ms (voice prompt) | long request: columns, stop, RTF | peak GPU GB (LM / codec run) | codec ms per audio s | stream window ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, d in reports:
        if d is None or d.get("tool") != "higgs-bench":
            continue
        req = d.get("request") or {}
        long_request = f"{req.get('columns', '-')}, {req.get('stop', '-')}, {num(d, 'request.real_time_factor', '.4f')}" if req else "-"
        first = f"{num(d, 'time_to_first_frame.first_frame_ms', '.1f')} ({d.get('time_to_first_frame', {}).get('prompt_positions', '-')} positions)"
        peak = f"{num(d, 'gpu_memory.peak_allocated', '.2f', 1e-9)} / {num(d, 'codec.peak_gpu_memory_bytes', '.2f', 1e-9)}"
        print(f"| {name} | {num(d, 'eager.p50_ms', '.3f')} | {num(d, 'graph_capture_s', '.3f')} | {first} | {long_request} | "
              f"{peak} | {num(d, 'codec.codec_decode_ms_per_audio_s', '.2f')} | {num(d, 'codec.codec_window_ms_per_chunk', '.2f')} |")

    sweeps = [(name, d) for name, d in reports if d and d.get("batch_sweep")]
    if sweeps:
        print()
        print("| engine / shape | batching | batch | step ms p50 | p90 | back to back | frames/s | RTF per stream | GB/s (weights + KV) | newcomer first audio ms | frame gap p50 / p99 ms |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, d in sweeps:
            sweep = d["batch_sweep"]
            for row in sweep["rows"]:
                print(f"| {name} | {sweep.get('batching', '-')} | {row['batch']} | {num(row, 'step_ms_p50', '.2f')} | "
                      f"{num(row, 'step_ms_p90', '.2f')} | {num(row, 'back_to_back_ms', '.2f')} | {num(row, 'frames_per_s', '.1f')} | "
                      f"{num(row, 'real_time_factor', '.3f')} | {num(row, 'gb_per_s', '.1f')} | {num(row, 'newcomer_first_audio_ms', '.1f')} | "
                      f"{num(row, 'frame_gap_p50_ms', '.1f')} / {num(row, 'frame_gap_p99_ms', '.1f')} |")


if __name__ == "__main__":
    main(sys.argv[1:])
