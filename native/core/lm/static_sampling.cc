// The static (graph-safe) sampler. Why a second implementation beside sampling.cc: a CUDA graph
// is captured once and replayed for every request, so nothing a request sets may be a host
// scalar or decide an op's shape or a branch; sampling.cc's skipped processors and topk(k) would
// bake the captured request's settings into the graph. Here the settings are device buffers and
// every processor always runs (masked off when disabled). It must draw sampling.cc's tokens for
// the same logits, seed and settings (test_decode_static.cc checks it on the CPU).
#include "lm/static_sampling.h"

#include <algorithm>
#include <limits>

namespace higgs::lm {
namespace {

// logits as [B, K, V], and whether they came as one row's [K, V].
std::pair<at::Tensor, bool> as_rows(const at::Tensor& logits) {
  return logits.dim() == 2 ? std::make_pair(logits.unsqueeze(0), true) : std::make_pair(logits, false);
}

// The first B rows of a [rows] setting, shaped to broadcast over [B, K, V].
at::Tensor per_row(const at::Tensor& setting, std::int64_t B) { return setting.narrow(0, 0, B).view({B, 1, 1}); }

// Gumbel-max of logits [B, K, V] with each row's base [B]; one row takes gumbel_argmax (the
// fused kernel on CUDA), which draws the same values.
at::Tensor draw(const at::Tensor& logits, const at::Tensor& bases) {
  if (logits.size(0) == 1) return gumbel_argmax(logits[0].contiguous(), bases).unsqueeze(0);
  return gumbel_argmax_batched(logits, bases);
}

}  // namespace

SamplerBuffers::SamplerBuffers(const at::Device& device, std::int64_t rows) {
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  seed_base = at::zeros({rows}, longs);
  greedy = at::zeros({rows}, longs.dtype(at::kBool));
  temperature = at::ones({rows}, longs.dtype(at::kFloat));
  top_k = at::zeros({rows}, longs);
  top_p_on = at::zeros({rows}, longs.dtype(at::kBool));
  top_p_cut = at::zeros({rows}, longs.dtype(at::kFloat));
  ras_window = at::zeros({rows}, longs);
  ras_max_repeats = at::ones({rows}, longs);
}

void SamplerBuffers::set(const SamplingParams& p, std::int64_t row) {
  const bool is_greedy = p.temperature <= 0;
  seed_base[row].fill_(static_cast<std::int64_t>(lm::seed_base(p.seed)));
  greedy[row].fill_(is_greedy);
  temperature[row].fill_(is_greedy ? 1.0f : static_cast<float>(p.temperature));
  top_k[row].fill_(p.top_k);  // 0 = off; clamped against the vocabulary in the step
  top_p_on[row].fill_(p.top_p < 1.0);
  top_p_cut[row].fill_(static_cast<float>(1.0 - p.top_p));
  ras_window[row].fill_(p.ras_window);
  ras_max_repeats[row].fill_(p.ras_max_repeats);
}

at::Tensor static_process_logits(const at::Tensor& logits, const SamplerBuffers& s) {
  auto [rows, single] = as_rows(logits);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto B = rows.size(0), K = rows.size(1), vocab = rows.size(2);
  auto scores = rows.to(at::kFloat) / per_row(s.temperature, B);
  // top-k: the k-th largest value by a full sort (k is data here); off (0 or >= vocab) keeps all.
  auto top_k = per_row(s.top_k, B);
  auto k = at::where(top_k > 0, top_k.clamp_max(vocab), at::full_like(top_k, vocab));
  auto descending = std::get<0>(at::sort(scores, /*dim=*/-1, /*descending=*/true));
  auto kth = descending.gather(-1, (k - 1).expand({B, K, 1}));
  scores = scores.masked_fill(scores < kth, neg_inf);
  // top-p as the eager processor (stable ascending sort), masked off when disabled.
  auto sorted = at::sort(scores, /*stable=*/true, /*dim=*/-1, /*descending=*/false);
  auto cumulative = at::softmax(std::get<0>(sorted), -1).cumsum(-1);
  auto remove_sorted = cumulative <= per_row(s.top_p_cut, B);
  remove_sorted.narrow(-1, vocab - 1, 1).fill_(false);  // always keep the top one
  auto remove = remove_sorted.scatter(-1, std::get<1>(sorted), remove_sorted).logical_and(per_row(s.top_p_on, B));
  scores = scores.masked_fill(remove, neg_inf);
  return single ? scores[0] : scores;
}

at::Tensor static_sample_rows(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step) {
  auto [rows, single] = as_rows(logits);
  const auto B = rows.size(0);
  auto bases = draw_bases(s.seed_base.narrow(0, 0, B), step, NoiseStream::Sample);
  auto drawn = draw(static_process_logits(rows, s), bases);
  auto chosen = at::where(s.greedy.narrow(0, 0, B).view({B, 1}), at::argmax(rows, -1), drawn);
  return single ? chosen[0] : chosen;
}

at::Tensor static_resample_raw(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step) {
  auto [rows, single] = as_rows(logits);
  const auto B = rows.size(0);
  auto drawn = draw(rows.to(at::kFloat).contiguous(), draw_bases(s.seed_base.narrow(0, 0, B), step, NoiseStream::RasResample));
  return single ? drawn[0] : drawn;
}

}  // namespace higgs::lm
