// The eager sampler, one of three implementations of the same draws (docs/model.md covers the
// sampling itself). This one is the reference: plain tensor ops with host-side branches (no-op
// processors skipped, topk with the request's k), run by the eager decode path, one step at a
// time. static_sampling.cc is its graph-safe twin and the fused CUDA kernel
// (gpu/kernels/decode_kernels.cu) replaces only its Gumbel-max draw; test_decode_static.cc and
// test_fused_kernels.cc hold both to this one's tokens.
#include "lm/sampling.h"

#include "gpu/fused_ops.h"

#include <limits>

namespace higgs::lm {
namespace {

constexpr std::int64_t kMask32 = 0xFFFFFFFF;
constexpr std::int64_t kHashMultiplier = 0x45d9f3b;

// The counter base of one draw as a [1] int64 tensor on `device` (scalars folded on the host).
at::Tensor draw_base(std::uint64_t seed, std::int64_t step, NoiseStream stream, const at::Device& device) {
  return at::full({1}, static_cast<std::int64_t>(draw_base(seed_base(seed), step, stream)),
                  at::TensorOptions().dtype(at::kLong).device(device));
}

at::Tensor draw(const at::Tensor& logits, std::uint64_t seed, std::int64_t step, NoiseStream stream) {
  return gumbel_argmax(logits, draw_base(seed, step, stream, logits.device()));
}

}  // namespace

// Every product stays below 2^63, so the int64 arithmetic is exact (no signed overflow).
at::Tensor hash32_tensor(at::Tensor x) {
  x = (at::bitwise_xor(x, at::bitwise_right_shift(x, 16)) * kHashMultiplier).bitwise_and(kMask32);
  x = (at::bitwise_xor(x, at::bitwise_right_shift(x, 16)) * kHashMultiplier).bitwise_and(kMask32);
  return at::bitwise_xor(x, at::bitwise_right_shift(x, 16));
}

std::uint32_t draw_base(std::uint32_t seed_base, std::int64_t step, NoiseStream stream) {
  const std::uint32_t base = hash32(seed_base ^ static_cast<std::uint32_t>(step));
  return hash32(base ^ static_cast<std::uint32_t>(static_cast<std::int64_t>(stream)));
}

at::Tensor draw_bases(const at::Tensor& seed_base, const at::Tensor& step, NoiseStream stream) {
  // The host version's uint32 casts keep the low 32 bits.
  auto base = hash32_tensor(at::bitwise_xor(seed_base, step.bitwise_and(kMask32)));
  return hash32_tensor(at::bitwise_xor(base, static_cast<std::int64_t>(stream)));
}

std::uint32_t seed_base(std::uint64_t seed) {
  return hash32(hash32(static_cast<std::uint32_t>(seed)) ^ static_cast<std::uint32_t>(seed >> 32));
}

namespace {

// u in (0, 1) of (base, row, token), broadcast over the three int64 tensors.
at::Tensor uniform_of(const at::Tensor& base, const at::Tensor& row, const at::Tensor& token) {
  auto h = hash32_tensor(at::bitwise_xor(hash32_tensor(at::bitwise_xor(row, base)), token));
  return (h.to(at::kDouble) + 0.5) / 4294967296.0;
}

// argmax over the last dimension of logits + Gumbel(u); -inf logits stay -inf (never drawn).
at::Tensor gumbel_max(const at::Tensor& logits, const at::Tensor& u) {
  auto gumbel = -at::log(-at::log(u));
  return at::argmax(logits.to(at::kDouble) + gumbel, -1);
}

}  // namespace

at::Tensor uniform_grid(const at::Tensor& base, std::int64_t rows, std::int64_t vocab) {
  auto options = base.options();
  return uniform_of(base, at::arange(rows, options).unsqueeze(1), at::arange(vocab, options).unsqueeze(0));
}

at::Tensor gumbel_argmax_batched(const at::Tensor& logits, const at::Tensor& bases) {
  auto options = bases.options();
  return gumbel_max(logits, uniform_of(bases.view({-1, 1, 1}), at::arange(logits.size(1), options).view({1, -1, 1}),
                                       at::arange(logits.size(2), options).view({1, 1, -1})));
}

at::Tensor gumbel_argmax(const at::Tensor& logits, const at::Tensor& base) {
  if (logits.is_cuda() && gpu::fused_ops_available() && gpu::fused_ops_runnable(logits.device()) &&
      logits.scalar_type() == at::kFloat && logits.is_contiguous() &&
      logits.dim() == 2) {
    return gpu::gumbel_argmax(logits, base);
  }
  return gumbel_argmax_ops(logits, base);
}

at::Tensor gumbel_argmax_ops(const at::Tensor& logits, const at::Tensor& base) {
  return gumbel_max(logits, uniform_grid(base, logits.size(0), logits.size(1)));
}

std::uint32_t hash32(std::uint32_t x) {
  x = ((x >> 16) ^ x) * 0x45d9f3bu;
  x = ((x >> 16) ^ x) * 0x45d9f3bu;
  return (x >> 16) ^ x;
}

at::Tensor counter_uniform(std::uint64_t seed, std::int64_t step, NoiseStream stream, std::int64_t rows,
                           std::int64_t vocab, const at::Device& device) {
  return uniform_grid(draw_base(seed, step, stream, device), rows, vocab);
}

at::Tensor process_logits(const at::Tensor& logits, const SamplingParams& p) {
  auto scores = logits.to(at::kFloat);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (p.temperature > 0 && p.temperature != 1.0) scores = scores / p.temperature;
  if (p.top_k > 0 && p.top_k < scores.size(-1)) {
    auto kth = std::get<0>(at::topk(scores, p.top_k, -1)).narrow(-1, p.top_k - 1, 1);
    scores = scores.masked_fill(scores < kth, neg_inf);
  }
  if (p.top_p < 1.0) {
    auto sorted = at::sort(scores, /*stable=*/true, /*dim=*/-1, /*descending=*/false);
    auto cumulative = at::softmax(std::get<0>(sorted), -1).cumsum(-1);
    auto remove_sorted = cumulative <= (1.0 - p.top_p);
    remove_sorted.narrow(-1, remove_sorted.size(-1) - 1, 1).fill_(false);  // always keep the top one
    auto remove = remove_sorted.scatter(-1, std::get<1>(sorted), remove_sorted);
    scores = scores.masked_fill(remove, neg_inf);
  }
  return scores;
}

at::Tensor sample_rows(const at::Tensor& logits, const SamplingParams& p, std::int64_t step) {
  if (p.temperature <= 0) return at::argmax(logits, -1);
  return draw(process_logits(logits, p), p.seed, step, NoiseStream::Sample);
}

at::Tensor resample_raw(const at::Tensor& logits, const SamplingParams& p, std::int64_t step) {
  return draw(logits.to(at::kFloat), p.seed, step, NoiseStream::RasResample);
}

}  // namespace higgs::lm
