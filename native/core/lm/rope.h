// Rotary position embedding with Llama-3 frequency scaling (docs/model.md#rope).
#pragma once

#include <ATen/ATen.h>

#include "lm/checkpoint_config.h"

namespace higgs::lm {

// inv_freq[j] for j < head_dim/2, in fp64 on the CPU, llama3-adjusted when the config says so.
at::Tensor rope_inv_freq(const RopeConfig& rope, std::int64_t head_dim);

// cos/sin tables [max_positions, head_dim] (frequencies duplicated, rotate-half layout), computed
// in fp32 from position * inv_freq like the reference, then cast to `options` (bf16 on GPU).
struct RopeTables {
  at::Tensor cos, sin;
};
RopeTables rope_tables(const RopeConfig& rope, std::int64_t head_dim, std::int64_t max_positions,
                       const at::TensorOptions& options);

// x: [L, heads, head_dim]; cos/sin: [L, head_dim] rows for the positions of x.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace higgs::lm
