#include "codec/dac_residual_unit.h"

namespace higgs::codec {

at::Tensor DacResidualUnit::forward(const at::Tensor& x) const {
  at::Tensor y = conv2.forward(snake2.forward(conv1.forward(snake1.forward(x))));
  const std::int64_t crop = (x.size(-1) - y.size(-1)) / 2;
  const at::Tensor skip = crop > 0 ? x.narrow(-1, crop, y.size(-1)) : x;
  y.add_(skip);  // x + y: addition commutes exactly
  return y;
}

DacResidualUnit load_dac_residual_unit(const CodecWeights& w, const std::string& prefix, std::int64_t channels,
                                       std::int64_t dilation) {
  DacResidualUnit unit;
  unit.snake1 = load_snake(w, prefix + ".snake1", channels);
  unit.conv1 = load_conv1d(w, prefix + ".conv1", channels, channels, 7, /*has_bias=*/true);
  unit.conv1.dilation = dilation;
  unit.conv1.padding = 3 * dilation;  // ((7 - 1) * dilation) / 2
  unit.snake2 = load_snake(w, prefix + ".snake2", channels);
  unit.conv2 = load_conv1d(w, prefix + ".conv2", channels, channels, 1, /*has_bias=*/true);
  return unit;
}

}  // namespace higgs::codec
