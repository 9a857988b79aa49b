#include "codec/conv_layers.h"

namespace higgs::codec {

at::Tensor Conv1d::forward(const at::Tensor& x) const {
  return at::conv1d(x, weight, bias, {stride}, {padding}, {dilation}, groups);
}

at::Tensor ConvTranspose1d::forward(const at::Tensor& x) const {
  return at::conv_transpose1d(x, weight, bias, {stride}, {padding}, {output_padding}, /*groups=*/1, /*dilation=*/{1});
}

at::Tensor Linear::forward(const at::Tensor& x) const { return at::linear(x, weight, bias); }

Conv1d load_conv1d(const CodecWeights& w, const std::string& prefix, std::int64_t out_channels,
                   std::int64_t in_channels, std::int64_t kernel, bool has_bias, std::int64_t groups) {
  Conv1d conv;
  conv.weight = w.get(prefix + ".weight", {out_channels, in_channels / groups, kernel});
  if (has_bias) conv.bias = w.get(prefix + ".bias", {out_channels});
  conv.groups = groups;
  return conv;
}

ConvTranspose1d load_conv_transpose1d(const CodecWeights& w, const std::string& prefix, std::int64_t in_channels,
                                      std::int64_t out_channels, std::int64_t kernel) {
  ConvTranspose1d conv;
  conv.weight = w.get(prefix + ".weight", {in_channels, out_channels, kernel});
  conv.bias = w.get(prefix + ".bias", {out_channels});
  return conv;
}

Linear load_linear(const CodecWeights& w, const std::string& prefix, std::int64_t out_features,
                   std::int64_t in_features, bool has_bias) {
  Linear linear;
  linear.weight = w.get(prefix + ".weight", {out_features, in_features});
  if (has_bias) linear.bias = w.get(prefix + ".bias", {out_features});
  return linear;
}

}  // namespace higgs::codec
