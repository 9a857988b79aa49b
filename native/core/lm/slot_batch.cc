// SlotBatch (slot_batch.h): admission into free slots, one column per busy slot per step (row by
// row, or one batched forward), retirement with the row's own result or error.
#include "lm/slot_batch.h"

#include <algorithm>

#include "errors.h"

namespace higgs::lm {

const char* batch_mode_name(BatchMode mode) { return mode == BatchMode::Fast ? "fast" : "exact"; }

BatchMode parse_batch_mode(const std::string& name) {
  if (name == "exact") return BatchMode::RowExact;
  if (name == "fast") return BatchMode::Fast;
  throw HiggsError(ErrorCode::Input, "unknown batching mode '" + name + "' (exact, fast)");
}

SlotBatch::SlotBatch(HiggsLM& model, std::int64_t slots, BatchMode mode) : model_(model), mode_(mode) {
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
    rows_[slot] = {std::move(generation), std::move(done)};
    rows_[slot].admitted = admissions_++;
    ++busy_;
  } catch (...) {
    done(std::current_exception(), nullptr);
  }
}

bool SlotBatch::prefilling() const {
  return std::any_of(rows_.begin(), rows_.end(), [](const Row& row) { return row.generation && row.prefilling; });
}

void SlotBatch::prefill_next() {
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {  // cancelled while waiting for its turn
    if (rows_[slot].generation && rows_[slot].prefilling && rows_[slot].generation->cancelled()) {
      retire(slot, std::make_exception_ptr(HiggsError(ErrorCode::Cancelled, "generation was cancelled")));
    }
  }
  std::size_t next = rows_.size();
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    const auto& row = rows_[slot];
    if (row.generation && row.prefilling && (next == rows_.size() || row.admitted < rows_[next].admitted)) next = slot;
  }
  if (next == rows_.size()) return;
  try {
    if (rows_[next].generation->prefill_piece()) rows_[next].prefilling = false;
  } catch (...) {
    retire(next, std::current_exception());  // a bad prompt: this row only
  }
}

std::int64_t SlotBatch::step() {
  prefill_next();  // decoding starts in the step that completes the prompt
  std::vector<std::size_t> live;
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    if (rows_[slot].generation && !rows_[slot].prefilling) live.push_back(slot);
  }
  for (auto slot : live) {
    rows_[slot].peak_batch = std::max(rows_[slot].peak_batch, static_cast<std::int64_t>(live.size()));
  }
  if (mode_ == BatchMode::Fast) {
    step_fast(live);
    return static_cast<std::int64_t>(live.size());
  }
  for (auto slot : live) {
    try {
      if (rows_[slot].generation->step()) retire(slot, nullptr);
    } catch (...) {
      retire(slot, std::current_exception());  // this row only: the others keep their state
    }
  }
  return static_cast<std::int64_t>(live.size());
}

void SlotBatch::step_fast(const std::vector<std::size_t>& live) {
  std::vector<std::size_t> fed;  // the rows that need a column this step
  std::vector<HiggsLM::AudioRow> inputs;
  for (auto slot : live) {
    auto& generation = *rows_[slot].generation;
    try {
      if (generation.begin_step()) {
        retire(slot, nullptr);
        continue;
      }
    } catch (...) {
      retire(slot, std::current_exception());
      continue;
    }
    fed.push_back(slot);
    inputs.push_back({generation.fed(), generation.position(), &generation.cache()});
  }
  if (fed.empty()) return;
  at::Tensor logits;
  try {
    logits = model_.decode_columns(inputs);
  } catch (...) {
    // The shared forward failed (out of memory, ...): every row in it has lost its step.
    const auto error = std::current_exception();
    for (auto slot : fed) retire(slot, error);
    return;
  }
  for (std::size_t i = 0; i < fed.size(); ++i) {
    try {
      if (rows_[fed[i]].generation->accept(logits[static_cast<std::int64_t>(i)])) retire(fed[i], nullptr);
    } catch (...) {
      retire(fed[i], std::current_exception());
    }
  }
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
