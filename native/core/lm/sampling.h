// Audio-token sampling: the HF logits processors the reference uses (temperature, top-k, top-p),
// and draws from a seeded counter-based generator. A draw is Gumbel-max: argmax(logits + g)
// with g = -log(-log(u)) and u hashed from (seed, step, stream, row, token). The noise is a pure
// function of those integers, computed with tensor ops on the model's device, so a seed gives
// the same draws on CPU and GPU and the step can later run inside a CUDA graph (no host RNG).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace higgs::lm {

struct SamplingParams {
  double temperature = 1.0;  // 0 = greedy (argmax), as the serve engine treats it
  std::int64_t top_k = 0;    // 0 = off
  double top_p = 1.0;        // >= 1 = off
  std::int64_t ras_window = 7;      // repetition-aware sampling window; 0 = off
  std::int64_t ras_max_repeats = 2;  // resample when the window holds the code this often
  std::uint64_t seed = 0;
};

// Independent noise streams, so that the RAS resample never reuses the first draw's noise.
enum class NoiseStream : std::int64_t { Sample = 0, RasResample = 1 };

// 32-bit integer hash (xor-shift-multiply); exposed so tests can check the tensor version.
std::uint32_t hash32(std::uint32_t x);

// The same hash on an int64 tensor of 32-bit values (exact on every device).
at::Tensor hash32_tensor(at::Tensor x);

// hash32 of the seed's two halves: the per-request part of every draw's counter.
std::uint32_t seed_base(std::uint64_t seed);

// u in (0, 1) for every (row, token) of a [rows, vocab] grid, float64, from the per-draw base
// (hash of seed, step and stream) held in a [1] int64 tensor: host-free, so graph-safe.
at::Tensor uniform_grid(const at::Tensor& base, std::int64_t rows, std::int64_t vocab);

// Gumbel-max over logits [rows, vocab] with the noise of `base`: argmax(logits + g), int64 [rows].
// On CUDA with the fused kernels built in, one kernel computes the same values.
at::Tensor gumbel_argmax(const at::Tensor& logits, const at::Tensor& base);
at::Tensor gumbel_argmax_ops(const at::Tensor& logits, const at::Tensor& base);  // the tensor-op version

// Gumbel-max for B generations at once (continuous batching's fast mode): logits [B, rows, vocab]
// and each generation's draw base, int64 [B]; returns int64 [B, rows] whose row b is
// gumbel_argmax(logits[b], bases[b]): the same noise, one set of ops for all.
at::Tensor gumbel_argmax_batched(const at::Tensor& logits, const at::Tensor& bases);

// The counter base of one draw (hash of seed_base, step and stream), as the host computes it.
std::uint32_t draw_base(std::uint32_t seed_base, std::int64_t step, NoiseStream stream);
// The same for int64 tensors of seed bases and steps (broadcast): on the device, graph-safe.
at::Tensor draw_bases(const at::Tensor& seed_base, const at::Tensor& step, NoiseStream stream);

// u in (0, 1) for every (row, token) of a [rows, vocab] grid, as float64 on `device`.
at::Tensor counter_uniform(std::uint64_t seed, std::int64_t step, NoiseStream stream, std::int64_t rows,
                           std::int64_t vocab, const at::Device& device);

// Temperature, then top-k (ties at the k-th value survive), then top-p (HF TopPLogitsWarper with
// a stable sort), each skipped when it would be a no-op. logits: [rows, vocab] fp32.
at::Tensor process_logits(const at::Tensor& logits, const SamplingParams& params);

// One token per row: argmax when temperature is 0, otherwise Gumbel-max over the processed
// logits with the `Sample` stream. Returns int64 [rows].
at::Tensor sample_rows(const at::Tensor& logits, const SamplingParams& params, std::int64_t step);

// A draw from softmax(raw logits) with the `RasResample` stream: RAS ignores the processors.
at::Tensor resample_raw(const at::Tensor& logits, const SamplingParams& params, std::int64_t step);

}  // namespace higgs::lm
