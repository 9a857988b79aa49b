// Graph-safe sampling: the same processors and counter-based draws as sampling.h, but every
// per-request setting and the step number live in fixed device buffers, and every op has a
// static shape (no topk(k) with a host k, no skipped branches, no host reads). A CUDA graph
// captured once serves every request; on the CPU it gives the same tokens as sampling.h.
#pragma once

#include <ATen/ATen.h>

#include "lm/sampling.h"

namespace higgs::lm {

struct SamplerBuffers {
  // max_steps: steps 0..max_steps-1 can draw (the per-step counter bases are tabled).
  SamplerBuffers(const at::Device& device, std::int64_t max_steps);
  // Copies a request's settings into the buffers (host -> device, before the steps run).
  void set(const SamplingParams& params);

  at::Tensor sample_bases;    // [max_steps] int64: draw_base(seed, step, Sample) of every step
  at::Tensor resample_bases;  // [max_steps] int64: the same for the RAS redraw
  at::Tensor greedy;       // [1] bool: temperature 0
  at::Tensor temperature;  // [1] float (1 when greedy, so no division by zero)
  at::Tensor top_k;        // [1] int64, clamped to [1, vocab]; vocab = off
  at::Tensor top_p_on;     // [1] bool
  at::Tensor top_p_cut;    // [1] float: float(1 - top_p), as the eager scalar comparison rounds it
  at::Tensor ras_window;   // [1] int64
  at::Tensor ras_max_repeats;  // [1] int64
};

// Temperature, top-k, top-p over logits [rows, vocab] fp32, as process_logits.
at::Tensor static_process_logits(const at::Tensor& logits, const SamplerBuffers& s);

// One token per row (int64 [rows]) for the step held in `step` ([1] int64), as sample_rows.
at::Tensor static_sample_rows(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step);

// The RAS redraw from the raw logits, as resample_raw.
at::Tensor static_resample_raw(const at::Tensor& logits, const SamplerBuffers& s, const at::Tensor& step);

}  // namespace higgs::lm
