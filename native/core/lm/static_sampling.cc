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
SamplerBuffers::SamplerBuffers(const at::Device& device, std::int64_t max_steps) {
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  sample_bases = at::zeros({max_steps}, longs);
  resample_bases = at::zeros({max_steps}, longs);
  greedy = at::zeros({1}, longs.dtype(at::kBool));
  temperature = at::ones({1}, longs.dtype(at::kFloat));
  top_k = at::zeros({1}, longs);
  top_p_on = at::zeros({1}, longs.dtype(at::kBool));
  top_p_cut = at::zeros({1}, longs.dtype(at::kFloat));
  ras_window = at::zeros({1}, longs);
  ras_max_repeats = at::ones({1}, longs);
}

void SamplerBuffers::set(const SamplingParams& p) {
  const bool is_greedy = p.temperature <= 0;
  // The counter bases of every step, hashed on the host once per request: a step then looks its
  // base up (one gather) instead of hashing on the device (two dozen tiny kernels per draw).
  const auto steps = sample_bases.size(0);
  auto sample = at::empty({steps}, at::kLong), resample = at::empty({steps}, at::kLong);
  const auto seed = lm::seed_base(p.seed);
  for (std::int64_t i = 0; i < steps; ++i) {
    sample.data_ptr<std::int64_t>()[i] = draw_base(seed, i, NoiseStream::Sample);
    resample.data_ptr<std::int64_t>()[i] = draw_base(seed, i, NoiseStream::RasResample);
  }
  sample_bases.copy_(sample);
  resample_bases.copy_(resample);
  greedy.fill_(is_greedy);
  temperature.fill_(is_greedy ? 1.0f : static_cast<float>(p.temperature));
  top_k.fill_(p.top_k);  // 0 = off; clamped against the vocabulary in the step
  top_p_on.fill_(p.top_p < 1.0);
  top_p_cut.fill_(static_cast<float>(1.0 - p.top_p));
  ras_window.fill_(p.ras_window);
  ras_max_repeats.fill_(p.ras_max_repeats);
}

at::Tensor static_process_logits(const at::Tensor& logits, const SamplerBuffers& s) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto vocab = logits.size(-1);
  auto scores = logits.to(at::kFloat) / s.temperature;
  // top-k: the k-th largest value by a full sort (k is data here); off (0 or >= vocab) keeps all.
  auto k = at::where(s.top_k > 0, s.top_k.clamp_max(vocab), at::full_like(s.top_k, vocab));
  auto descending = std::get<0>(at::sort(scores, /*dim=*/-1, /*descending=*/true));
  auto kth = descending.gather(-1, (k - 1).expand({scores.size(0), 1}));
  scores = scores.masked_fill(scores < kth, neg_inf);
  // top-p as the eager processor (stable ascending sort), masked off when disabled.
  auto sorted = at::sort(scores, /*stable=*/true, /*dim=*/-1, /*descending=*/false);
  auto cumulative = at::softmax(std::get<0>(sorted), -1).cumsum(-1);
  auto remove_sorted = cumulative <= s.top_p_cut;
  remove_sorted.narrow(-1, vocab - 1, 1).fill_(false);  // always keep the top one
  auto remove = remove_sorted.scatter(-1, std::get<1>(sorted), remove_sorted).logical_and(s.top_p_on);
  return scores.masked_fill(remove, neg_inf);
}

at::Tensor static_sample_rows(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step) {
  auto drawn = gumbel_argmax(static_process_logits(logits, s), s.sample_bases.index_select(0, step));
  return at::where(s.greedy, at::argmax(logits, -1), drawn);
}

at::Tensor static_resample_raw(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step) {
  return gumbel_argmax(logits.to(at::kFloat).contiguous(), s.resample_bases.index_select(0, step));
}

}  // namespace higgs::lm
