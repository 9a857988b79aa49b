// Continuous batching on the LM thread: S slots, each with a KV cache of its own and at most one
// generation (an EagerGeneration), advanced together one column per step(). Generations join
// a free slot between steps (their prompt prefilled one piece per step while the others decode)
// and leave as they stop, are cancelled or fail, without touching the other rows. Slot 0 uses the model's own cache: exclusive jobs
// (forward, load) run only when no slot is busy.
//
// Two ways to compute a step (docs/architecture.md#continuous-batching):
//  - RowExact: each row is its own batch-1 forward, so a request's codes never depend on what
//    runs beside it, on its slot or on the batch size. Waiting is shared; compute is not.
//  - Fast: one HiggsLM::decode_columns over the live rows (each weight read once per step for
//    all of them), and the rows' draws in one set of noise ops. Same request, same slot, same
//    neighbours: same codes; but the GEMMs' reduction order may change with the batch size, so
//    a row can differ from its solo run.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lm/generator.h"
#include "lm/higgs_lm.h"
#include "lm/kv_cache.h"

namespace higgs::lm {

enum class BatchMode { RowExact, Fast };
const char* batch_mode_name(BatchMode mode);
BatchMode parse_batch_mode(const std::string& name);  // "exact" or "fast"; else E_INPUT

class SlotBatch {
 public:
  // How a finished row reports: its output, or the error that ended it (E_CANCELLED, ...).
  using Done = std::function<void(std::exception_ptr error, GenerationOutput* output)>;

  SlotBatch(HiggsLM& model, std::int64_t slots, BatchMode mode = BatchMode::RowExact);

  std::int64_t slots() const { return static_cast<std::int64_t>(rows_.size()); }
  std::int64_t busy() const { return busy_; }
  bool full() const { return busy_ == slots(); }
  BatchMode mode() const { return mode_; }
  bool prefilling() const;  // some admitted row's prompt is not all in its cache yet

  // Puts the generation into the lowest free slot (there must be one); its prompt is prefilled
  // by the next steps. A generation cancelled before it started reports through `done` at once.
  void admit(GenerationInput input, GenerationCallbacks callbacks, Done done);

  // One prefill piece (kPrefillPiece positions) of the earliest admitted row still prefilling,
  // then one column for every row that is decoding, in slot order; rows that stop, fail or are
  // cancelled retire and report. Returns the number of rows that decoded (the live batch size).
  std::int64_t step();

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
