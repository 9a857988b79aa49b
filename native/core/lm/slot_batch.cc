// SlotBatch (slot_batch.h): admission into free slots, one row-exact column per busy slot per
// step, retirement with the row's own result or error.
#include "lm/slot_batch.h"

#include <algorithm>

#include "errors.h"

namespace higgs::lm {

SlotBatch::SlotBatch(HiggsLM& model, std::int64_t slots) : model_(model) {
  if (slots < 1) throw HiggsError(ErrorCode::Input, "slots must be at least 1 (got " + std::to_string(slots) + ")");
  const auto& c = model.config();
  caches_.push_back(&model.cache());
  for (std::int64_t s = 1; s < slots; ++s) {
    own_caches_.push_back(std::make_unique<KvCache>(c.num_layers, model.cache().max_context(), c.num_kv_heads,
                                                    c.head_dim, model.options()));
    caches_.push_back(own_caches_.back().get());
  }
  rows_.resize(static_cast<std::size_t>(slots));
}

void SlotBatch::admit(GenerationInput input, GenerationCallbacks callbacks, Done done) {
  std::size_t slot = 0;
  while (slot < rows_.size() && rows_[slot].generation) ++slot;
  if (slot == rows_.size()) throw HiggsError(ErrorCode::Internal, "SlotBatch::admit with every slot busy");
  try {
    if (callbacks.cancelled && callbacks.cancelled()) throw HiggsError(ErrorCode::Cancelled, "generation was cancelled");
    auto generation = std::make_unique<EagerGeneration>(model_, *caches_[slot], std::move(input), std::move(callbacks));
    generation->prefill();
    rows_[slot] = {std::move(generation), std::move(done)};
    ++busy_;
  } catch (...) {
    done(std::current_exception(), nullptr);
  }
}

std::int64_t SlotBatch::step() {
  std::int64_t stepped = 0;
  const auto live = busy_;
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    auto& row = rows_[slot];
    if (!row.generation) continue;
    ++stepped;
    row.peak_batch = std::max(row.peak_batch, live);
    try {
      if (row.generation->step()) retire(slot, nullptr);
    } catch (...) {
      retire(slot, std::current_exception());  // this row only: the others keep their state
    }
  }
  return stepped;
}

void SlotBatch::retire(std::size_t slot, std::exception_ptr error) {
  Row row = std::move(rows_[slot]);
  rows_[slot] = Row{};
  --busy_;
  if (error) return row.done(error, nullptr);
  GenerationOutput out;
  try {
    out = row.generation->finish();  // streams the last frames
    out.peak_batch = std::max<std::int64_t>(1, row.peak_batch);
  } catch (...) {
    return row.done(std::current_exception(), nullptr);
  }
  row.done(nullptr, &out);
}

}  // namespace higgs::lm
