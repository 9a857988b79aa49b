// Weight-only int8 projections (EngineOptions::weights "int8"): int8 weights with one scale per
// output channel, applied to bf16 activations by libtorch's at::_weight_int8pack_mm (CPU and
// CUDA, no host sync: it runs inside captured graphs). Embeddings and norms stay dense.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace higgs::lm {

// How the projections of the LM are held: in the engine's dtype, or as int8.
enum class WeightFormat { Dense, Int8 };
// "dense" or "int8"; E_INPUT naming the values otherwise.
WeightFormat parse_weight_format(const std::string& name);
const char* weight_format_name(WeightFormat format);

struct Int8Weight {
  at::Tensor weight;  // int8 [out, in], contiguous
  at::Tensor scales;  // bf16 [out]: row r stands for weight[r] * scales[r]
  bool defined() const { return weight.defined(); }
  std::int64_t rows() const { return weight.size(0); }
  std::int64_t bytes() const;
};

// Symmetric per output channel: scale_r = max|w_r| / 127 rounded to bf16 (1 for a row of zeros),
// q = round-to-nearest(w / scale_r) clamped to [-127, 127]. Computed in fp32 on w's device, a
// slice of rows at a time (no fp32 copy of a whole vocabulary-sized head).
Int8Weight quantize_int8(const at::Tensor& weight);
// The weight an Int8Weight stands for, q * scale, in `dtype` (tests, references).
at::Tensor dequantize_int8(const Int8Weight& weight, at::ScalarType dtype);
// Rows stacked in order: [a; b; ...] with their scales (fusing q/k/v and gate/up).
Int8Weight concat_int8(const std::vector<Int8Weight>& parts);

// x [..., in] -> [..., out] in x's dtype: x W^T with the int8 weight where it is defined
// (activations cast to bf16, accumulated by the kernel, the result cast back), else at::linear
// with the dense one.
at::Tensor project(const at::Tensor& x, const at::Tensor& dense, const Int8Weight& int8);

}  // namespace higgs::lm
