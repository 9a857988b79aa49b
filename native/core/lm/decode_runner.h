// Runs static decode steps for one model: the device-resident DecodeState, the step, the KV
// buckets (and row buckets when several generations decode together) and, on CUDA, one captured
// graph per bucket pair, all sharing one memory pool. The generator or a DeviceSlotBatch drives
// it; the engine keeps one per loaded model (captures happen once, at load).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "gpu/gpu.h"
#include "lm/decode_state.h"
#include "lm/decode_step.h"
#include "lm/higgs_lm.h"

namespace higgs::lm {

class DecodeRunner {
 public:
  // One generation over the model's own cache. use_graphs needs a CUDA model and a CUDA build;
  // without it every step runs eagerly (same ops). The fused CUDA kernels are used when
  // fused_kernels (EngineOptions) and fused_kernels_usable(model); with the fused attention,
  // which reads the true length on the device, one bucket (max_context) serves every step.
  DecodeRunner(HiggsLM& model, bool use_graphs, bool fused_kernels = true);
  // The rows of `arena` decoded together (DeviceSlotBatch): a step runs the smallest row bucket
  // that holds the highest live row; batched and fused_kernels as in AudioDecodeStep.
  DecodeRunner(HiggsLM& model, KvArena& arena, bool batched, bool use_graphs, bool fused_kernels = true);

  // Captures the graph of every bucket pair (no-op without graphs); returns the seconds it took.
  // The warm-up runs scribble on the state and on KV positions a generation overwrites anyway.
  double capture_all();

  // One step of row 0 at `position`, the host's mirror of its KV position (it picks the KV
  // bucket); no host sync.
  void step(std::int64_t position) { step(std::vector<std::int64_t>{position}); }
  // One step of rows 0..positions.size()-1, positions[r] the host's mirror of row r's KV position
  // (-1: a row that does not advance). The KV bucket holds the highest; without graphs, rows
  // computed alone attend over their own bucket (so a row's values never depend on the others).
  void step(const std::vector<std::int64_t>& positions);

  DecodeState& state() { return state_; }
  const std::vector<std::int64_t>& buckets() const { return buckets_; }
  const std::vector<std::int64_t>& row_buckets() const { return row_buckets_; }
  std::int64_t rows_for(std::int64_t rows) const;  // the row bucket that serves rows 0..rows-1
  bool uses_graphs() const { return use_graphs_; }
  bool uses_fused_kernels() const { return step_.fused(); }
  double capture_seconds() const { return capture_seconds_; }
  // Per row bucket: the seconds its captures took, and the graph pool's growth in bytes
  // (allocator reserved memory; 0 without CUDA).
  struct Capture {
    std::int64_t rows = 0;
    double seconds = 0;
    std::int64_t pool_bytes = 0;
  };
  const std::vector<Capture>& captures() const { return captures_; }

 private:
  HiggsLM& model_;
  DecodeState state_;
  AudioDecodeStep step_;
  std::vector<std::int64_t> buckets_, row_buckets_;
  bool use_graphs_;
  gpu::GraphPool pool_;
  // [row bucket][KV bucket], empty until captured
  std::vector<std::vector<std::unique_ptr<gpu::StepGraph>>> graphs_;
  std::vector<Capture> captures_;
  double capture_seconds_ = 0;
};

}  // namespace higgs::lm
