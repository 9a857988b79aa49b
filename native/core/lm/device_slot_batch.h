// Continuous batching with static decode (generation_batch.h): the rows' decode state lives on
// the device (DecodeState with one row per slot), their KV caches in one KvArena, and a step is
// one DecodeRunner step over rows 0..B-1 (B the smallest row bucket holding the highest busy
// slot): a CUDA graph per row bucket x KV bucket when graphs are on. The host never waits inside
// a step: it stops rows at their caps and cancellations before launching, and reads the rows'
// done flags and new columns every kCheckEvery steps with a copy it collects after launching the
// next step. A row that ended on the device stays frozen until the host reads it, so per-row
// stops equal the solo runs even though the host learns of them late.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "gpu/host_copy.h"
#include "lm/decode_runner.h"
#include "lm/generation_batch.h"
#include "lm/higgs_lm.h"
#include "lm/kv_cache.h"

namespace higgs::lm {

class DeviceSlotBatch : public GenerationBatch {
 public:
  // RowExact computes each row alone (as the one-row static step does, with the fused kernels
  // where fused_kernels and usable); Fast batches the projections (AudioDecodeStep).
  // use_graphs: CUDA graphs, captured by capture_all().
  DeviceSlotBatch(HiggsLM& model, std::int64_t slots, BatchMode mode, bool use_graphs, bool fused_kernels = true);
  ~DeviceSlotBatch() override;

  double capture_all() { return runner_.capture_all(); }
  const DecodeRunner& runner() const { return runner_; }
  std::int64_t kv_bytes() const { return arena_.bytes(); }

  std::int64_t slots() const override { return static_cast<std::int64_t>(rows_.size()); }
  std::int64_t busy() const override { return busy_; }
  BatchMode mode() const override { return mode_; }
  bool prefilling() const override;
  void admit(GenerationInput input, GenerationCallbacks callbacks, Done done) override;
  std::int64_t step() override;

 private:
  struct Row;
  struct Read;  // a window of the rows' columns on its way to the host
  void prefill_next();
  void stop_at_caps();
  void start_read();
  void collect_read();
  void retire(std::size_t slot, std::exception_ptr error);

  HiggsLM& model_;
  BatchMode mode_;
  KvArena arena_;
  DecodeRunner runner_;
  std::vector<std::unique_ptr<Row>> rows_;  // by slot (stable addresses: callbacks refer to them)
  std::unique_ptr<Read> read_;              // null when no read is in flight
  gpu::HostCopy copy_;
  std::int64_t busy_ = 0;
  std::uint64_t admissions_ = 0;
  std::int64_t steps_ = 0;
};

}  // namespace higgs::lm
