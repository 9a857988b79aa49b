#include "lm/static_sampling.h"

#include <algorithm>
#include <limits>

namespace higgs::lm {
namespace {

// The per-draw counter base: hash(hash(seed_base ^ step) ^ stream), computed on the device.
at::Tensor draw_base(const SamplerBuffers& s, const at::Tensor& step, NoiseStream stream) {
  auto base = hash32_tensor(at::bitwise_xor(s.seed_base, step.bitwise_and(static_cast<std::int64_t>(0xFFFFFFFF))));
  return hash32_tensor(at::bitwise_xor(base, static_cast<std::int64_t>(stream)));
}

}  // namespace

SamplerBuffers::SamplerBuffers(const at::Device& device) {
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  seed_base = at::zeros({1}, longs);
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
  seed_base.fill_(static_cast<std::int64_t>(lm::seed_base(p.seed)));
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
  auto drawn = gumbel_argmax(static_process_logits(logits, s), draw_base(s, step, NoiseStream::Sample));
  return at::where(s.greedy, at::argmax(logits, -1), drawn);
}

at::Tensor static_resample_raw(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step) {
  return gumbel_argmax(logits.to(at::kFloat), draw_base(s, step, NoiseStream::RasResample));
}

}  // namespace higgs::lm
