// Runs static decode steps for one model: the device-resident DecodeState, the step, the KV
// buckets and, on CUDA, one captured graph per bucket sharing one memory pool. The generator
// drives it; the engine keeps one per loaded model (captures happen once, at load).
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
  // use_graphs needs a CUDA model and a CUDA build; without it every step runs eagerly (same ops).
  // The fused CUDA kernels are used when fused_kernels (EngineOptions) and
  // fused_kernels_usable(model); with the fused attention, which reads the true length on the
  // device, one bucket (max_context) serves every step.
  DecodeRunner(HiggsLM& model, bool use_graphs, bool fused_kernels = true);

  // Captures the graph of every bucket (no-op without graphs); returns the seconds it took.
  // The warm-up runs scribble on the state and on KV positions a generation overwrites anyway.
  double capture_all();

  // One step at the host's mirror of the KV position (it picks the bucket); no host sync.
  void step(std::int64_t position);

  DecodeState& state() { return state_; }
  const std::vector<std::int64_t>& buckets() const { return buckets_; }
  bool uses_graphs() const { return use_graphs_; }
  bool uses_fused_kernels() const { return step_.fused(); }
  double capture_seconds() const { return capture_seconds_; }

 private:
  HiggsLM& model_;
  DecodeState state_;
  AudioDecodeStep step_;
  std::vector<std::int64_t> buckets_;
  bool use_graphs_;
  gpu::GraphPool pool_;
  std::vector<std::unique_ptr<gpu::StepGraph>> graphs_;  // per bucket, empty until captured
  double capture_seconds_ = 0;
};

}  // namespace higgs::lm
