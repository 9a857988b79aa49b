// The batch sweep of higgs-bench (--batch 1,2,4,...): for each batch size B, the slot batch's
// decode step with B live generations (alone and back to back), aggregate frames/s, per-stream
// real-time factor and the bytes a step reads (weights once, each row's KV), then through the
// engine itself: the first audio of a newcomer (a cloned-voice prompt) while B streams run, and
// the gaps between the running streams' columns while it is admitted. The engine must have at
// least max(B) + 1 slots.
#pragma once

#include <nlohmann/json.hpp>

#include "bench_args.h"
#include "engine/engine.h"

namespace higgs::bench {

// Prints a table line per batch size and returns the report's "batch_sweep" object:
//   batching, slots, warmup, steps, graphs (false: the batched step runs without CUDA graphs),
//   rows: [{batch, step_ms_p50, step_ms_p90, back_to_back_ms, frames_per_s, real_time_factor,
//           weight_bytes_per_step, kv_bytes_per_step, gb_per_s, newcomer_first_audio_ms,
//           newcomer_prompt_positions, frame_gap_p50_ms, frame_gap_p99_ms,
//           graph_capture_s (null), graph_pool_bytes (null)}, ...]
nlohmann::json bench_batch_sweep(Engine& engine, const ModelInfo& info, const BenchArgs& args);

}  // namespace higgs::bench
