// Graph-safe sampling: the same processors and counter-based draws as sampling.h, but every
// per-request setting lives in fixed device buffers, one row per generation of a batch, and
// every op has a static shape (no topk(k) with a host k, no skipped branches, no host reads).
// A CUDA graph captured once serves every request; on the CPU it gives sampling.h's tokens.
#pragma once

#include <ATen/ATen.h>

#include "lm/sampling.h"

namespace higgs::lm {

// The settings of `rows` generations, [rows] each. A draw's counter base is hashed on the device
// from seed_base and the step (draw_bases), so admitting a request copies a few scalars only.
struct SamplerBuffers {
  explicit SamplerBuffers(const at::Device& device, std::int64_t rows = 1);
  // Writes one row's settings (small device fills, before the steps that read them).
  void set(const SamplingParams& params, std::int64_t row = 0);
  std::int64_t rows() const { return greedy.size(0); }

  at::Tensor seed_base;    // int64: seed_base(seed)
  at::Tensor greedy;       // bool: temperature 0
  at::Tensor temperature;  // float (1 when greedy, so no division by zero)
  at::Tensor top_k;        // int64, clamped to [1, vocab]; vocab = off
  at::Tensor top_p_on;     // bool
  at::Tensor top_p_cut;    // float: float(1 - top_p), as the eager scalar comparison rounds it
  at::Tensor ras_window;   // int64
  at::Tensor ras_max_repeats;  // int64
};

// The functions below take logits [B, K, V] fp32 for the first B rows of the buffers (or [K, V]
// for row 0 alone, returning [K]) and each row's step, int64 [B].

// Temperature, top-k, top-p, as process_logits does for each row's settings.
at::Tensor static_process_logits(const at::Tensor& logits, const SamplerBuffers& s);

// One token per codebook and row (int64 [B, K]) for each row's step, as sample_rows.
at::Tensor static_sample_rows(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step);

// The RAS redraw from the raw logits, as resample_raw.
at::Tensor static_resample_raw(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step);

}  // namespace higgs::lm
