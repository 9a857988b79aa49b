// Continuous batching on the LM thread: S slots, each with a KV cache of its own and at most one
// generation, advanced together one column per step(). Generations join between steps (their
// prompt prefilled into a free slot) and leave as they stop, are cancelled or fail, without
// touching the other rows. Each row is computed exactly as at batch 1 (row-exact: an
// EagerGeneration per slot), so a request's codes never depend on what runs beside it, on its
// slot or on the batch size. Slot 0 uses the model's own cache: exclusive jobs (forward, load)
// run only when no slot is busy.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "lm/generator.h"
#include "lm/higgs_lm.h"
#include "lm/kv_cache.h"

namespace higgs::lm {

class SlotBatch {
 public:
  // How a finished row reports: its output, or the error that ended it (E_CANCELLED, ...).
  using Done = std::function<void(std::exception_ptr error, GenerationOutput* output)>;

  SlotBatch(HiggsLM& model, std::int64_t slots);

  std::int64_t slots() const { return static_cast<std::int64_t>(rows_.size()); }
  std::int64_t busy() const { return busy_; }
  bool full() const { return busy_ == slots(); }

  // Prefills the generation into the lowest free slot (there must be one). A generation that
  // fails to start (bad prompt, cancelled before it started) reports through `done` at once.
  void admit(GenerationInput input, GenerationCallbacks callbacks, Done done);

  // One column for every busy slot, in slot order; rows that stop, fail or are cancelled retire
  // and report. Returns the number of rows that were stepped (the live batch size).
  std::int64_t step();

 private:
  struct Row {
    std::unique_ptr<EagerGeneration> generation;
    Done done;
    std::int64_t peak_batch = 0;
  };
  void retire(std::size_t slot, std::exception_ptr error);

  HiggsLM& model_;
  std::vector<std::unique_ptr<KvCache>> own_caches_;  // slots 1..S-1
  std::vector<KvCache*> caches_;                      // by slot
  std::vector<Row> rows_;                             // by slot; empty generation = free
  std::int64_t busy_ = 0;
};

}  // namespace higgs::lm
