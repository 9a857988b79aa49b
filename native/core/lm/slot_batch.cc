// SlotBatch (slot_batch.h): admission into free slots, one column per busy slot per step (row by
// row, or one batched forward), retirement with the row's own result or error.
#include "lm/slot_batch.h"

#include <algorithm>

#include "errors.h"
#include "lm/sampling.h"

namespace higgs::lm {

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
  std::vector<Column> chosen, redraw;
  try {
    draw_all(model_.decode_columns(inputs), fed, chosen, redraw);
  } catch (...) {
    // The shared forward failed (out of memory, ...): every row in it has lost its step.
    const auto error = std::current_exception();
    for (auto slot : fed) retire(slot, error);
    return;
  }
  for (std::size_t i = 0; i < fed.size(); ++i) {
    try {
      if (rows_[fed[i]].generation->accept_drawn(std::move(chosen[i]), redraw[i])) retire(fed[i], nullptr);
    } catch (...) {
      retire(fed[i], std::current_exception());
    }
  }
}

// Each row's column as sample_rows draws it, and its RAS redraw as resample_raw does (for all
// rows: most steps of some row need it), with one set of noise ops and one host copy for the batch.
void SlotBatch::draw_all(const at::Tensor& logits, const std::vector<std::size_t>& fed, std::vector<Column>& chosen,
                         std::vector<Column>& redraw) {
  const auto B = static_cast<std::int64_t>(fed.size());
  std::vector<std::int64_t> sample_bases, resample_bases;
  std::vector<std::uint8_t> greedy;
  // Rows with the same processors are processed together (they work row by row, so this is
  // exact): requests mostly share the defaults.
  std::vector<std::pair<const SamplingParams*, std::vector<std::int64_t>>> groups;
  for (std::int64_t i = 0; i < B; ++i) {
    const auto& generation = *rows_[fed[static_cast<std::size_t>(i)]].generation;
    const auto& p = generation.sampling();
    const auto seed = seed_base(p.seed);
    greedy.push_back(p.temperature <= 0);
    sample_bases.push_back(draw_base(seed, generation.producing(), NoiseStream::Sample));
    resample_bases.push_back(draw_base(seed, generation.producing(), NoiseStream::RasResample));
    if (greedy.back()) continue;
    auto same = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g.first->temperature == p.temperature && g.first->top_k == p.top_k && g.first->top_p == p.top_p;
    });
    if (same == groups.end()) groups.push_back({&p, {i}});
    else same->second.push_back(i);
  }
  const auto on = [&](const std::vector<std::int64_t>& v) { return at::tensor(v, at::kLong).to(logits.device()); };
  auto processed = logits.clone();  // greedy rows keep their raw logits (their draw is replaced below)
  for (const auto& [params, rows] : groups) {
    const auto index = on(rows);
    processed.index_copy_(0, index, process_logits(logits.index_select(0, index), *params));
  }
  auto drawn = gumbel_argmax_batched(processed, on(sample_bases));
  auto is_greedy = at::tensor(greedy, at::kByte).to(at::kBool).to(logits.device()).view({B, 1});
  drawn = at::where(is_greedy, at::argmax(logits, -1), drawn);
  auto redrawn = gumbel_argmax_batched(logits.to(at::kFloat), on(resample_bases));
  auto host = at::stack({drawn, redrawn}).to(at::kCPU, at::kLong).contiguous();  // [2, B, K]
  const auto K = logits.size(1);
  const auto* p = host.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < B; ++i) {
    chosen.emplace_back(p + i * K, p + (i + 1) * K);
    redraw.emplace_back(p + (B + i) * K, p + (B + i + 1) * K);
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
