// Continuous batching with eager decode (generation_batch.h): S slots, each with a KV cache of
// its own and an EagerGeneration, whose sampling and delay state live on the host. Slot 0 uses
// the model's own cache: exclusive jobs (forward, load) run only when no slot is busy.
// RowExact runs each row as its own batch-1 forward; Fast runs one HiggsLM::decode_columns over
// the live rows and draws their columns with one set of noise ops.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "lm/generation_batch.h"
#include "lm/generator.h"
#include "lm/higgs_lm.h"
#include "lm/kv_cache.h"

namespace higgs::lm {

class SlotBatch : public GenerationBatch {
 public:
  SlotBatch(HiggsLM& model, std::int64_t slots, BatchMode mode = BatchMode::RowExact);

  std::int64_t slots() const override { return static_cast<std::int64_t>(rows_.size()); }
  std::int64_t busy() const override { return busy_; }
  BatchMode mode() const override { return mode_; }
  bool prefilling() const override;
  void admit(GenerationInput input, GenerationCallbacks callbacks, Done done) override;
  std::int64_t step() override;  // the decoding rows in slot order

 private:
  struct Row {
    std::unique_ptr<EagerGeneration> generation;
    Done done;
    std::int64_t peak_batch = 0;
    bool prefilling = true;
    std::uint64_t admitted = 0;  // admission order: the earliest prefills first
  };
  void retire(std::size_t slot, std::exception_ptr error);
  void prefill_next();
  void step_fast(const std::vector<std::size_t>& live);
  void draw_all(const at::Tensor& logits, const std::vector<std::size_t>& fed, std::vector<Column>& chosen,
                std::vector<Column>& redraw);

  HiggsLM& model_;
  BatchMode mode_;
  std::vector<std::unique_ptr<KvCache>> own_caches_;  // slots 1..S-1
  std::vector<KvCache*> caches_;                      // by slot
  std::vector<Row> rows_;                             // by slot; empty generation = free
  std::int64_t busy_ = 0;
  std::uint64_t admissions_ = 0;
};

}  // namespace higgs::lm
