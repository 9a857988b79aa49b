// DAC's Snake activation, per channel: y = x + (alpha + 1e-9).reciprocal() * sin(alpha * x)^2,
// exactly as transformers' Snake1d / DAC's TorchScript snake (1e-9 added to alpha, reciprocal
// then multiply). The reciprocal is computed once at load time: the same values, fewer ops.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "codec/codec_weights.h"

namespace higgs::codec {

struct Snake {
  at::Tensor alpha;      // [1, C, 1]
  at::Tensor inv_alpha;  // (alpha + 1e-9).reciprocal(), [1, C, 1]

  at::Tensor forward(const at::Tensor& x) const;  // [B, C, L] -> [B, C, L]
};

// `<prefix>.alpha` [1, channels, 1].
Snake load_snake(const CodecWeights& w, const std::string& prefix, std::int64_t channels);

}  // namespace higgs::codec
