// Folding of torch weight norm into a plain weight, once at load time:
//   weight = g * v / ||v||, the norm taken over every dim except `dim` (no epsilon).
// The dim is read off g's shape (g keeps v's size on `dim` and is 1 elsewhere):
//   DAC Conv1d            v [out, in, k],  g [out, 1, 1]  -> dim 0
//   DAC ConvTranspose1d   v [in, out, k],  g [in, 1, 1]   -> dim 0 (the INPUT channel axis)
//   HuBERT pos conv       v [C, C/G, K],   g [1, 1, K]    -> dim 2 (one norm per tap)
// A g of one element means a norm over the whole tensor (weight_norm with dim=None).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace higgs::codec {

// The dim weight_norm was applied over, or -1 for a whole-tensor norm. Throws
// HiggsError(E_MODEL_FORMAT) naming `file` and `name` when g does not fit v.
std::int64_t weight_norm_dim(const at::Tensor& g, const at::Tensor& v, const std::string& file,
                             const std::string& name);

// torch._weight_norm(v, g, dim) computed in fp32 (or fp64 if v is fp64), returned in that dtype.
at::Tensor fold_weight_norm(const at::Tensor& g, const at::Tensor& v, const std::string& file,
                            const std::string& name);

}  // namespace higgs::codec
