// DAC residual unit (transformers DacResidualUnit), used by both the DAC decoder and encoder:
//   y = conv2(snake2(conv1(snake1(x))))   conv1: k7, dilation d, padding 3d; conv2: k1
//   out = crop(x) + y, where crop trims (len(x) - len(y)) / 2 samples from each side of x.
// With these paddings the lengths are equal and the crop never triggers; it is kept as the
// reference has it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "codec/conv_layers.h"
#include "codec/snake.h"

namespace higgs::codec {

struct DacResidualUnit {
  Snake snake1;
  Conv1d conv1;
  Snake snake2;
  Conv1d conv2;

  at::Tensor forward(const at::Tensor& x) const;  // [B, C, L] -> [B, C, L]
};

// `<prefix>.{snake1.alpha, conv1.weight/bias, snake2.alpha, conv2.weight/bias}` for `channels`.
DacResidualUnit load_dac_residual_unit(const CodecWeights& w, const std::string& prefix, std::int64_t channels,
                                       std::int64_t dilation);

}  // namespace higgs::codec
