// Arithmetic the parts of higgs-bench share: percentiles, elapsed time, and the bytes a decode
// step must read (docs/model.md#decode-step-cost).
#pragma once

#include <chrono>
#include <vector>

#include "engine/engine.h"

namespace higgs::bench {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start);
// The nearest-rank p-quantile (0..1) of `values` (not empty).
double percentile(std::vector<double> values, double p);

// Weights one audio decode step reads (attention, audio MLP, audio norms, final norm, audio
// head); the text MLP and the text head are skipped. Read once per step whatever the batch.
double audio_step_weight_bytes(const ModelInfo& m);
// Keys and values one row reads per attended position (every layer), at the weights' dtype.
double kv_bytes_per_position(const ModelInfo& m);

}  // namespace higgs::bench
