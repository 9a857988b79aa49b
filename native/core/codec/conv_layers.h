// Plain Conv1d / ConvTranspose1d / Linear layers of the codec with PyTorch semantics (symmetric
// zero padding, PyTorch weight layouts), loaded by name from CodecWeights with shape checks.
// Shared by the decoder and the encoder paths.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "codec/codec_weights.h"

namespace higgs::codec {

struct Conv1d {
  at::Tensor weight;  // [out, in / groups, kernel]
  at::Tensor bias;    // [out], or undefined for a conv without bias
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;

  at::Tensor forward(const at::Tensor& x) const;  // [B, in, L] -> [B, out, L']
};

struct ConvTranspose1d {
  at::Tensor weight;  // [in, out, kernel]: dim 0 is the INPUT channel axis
  at::Tensor bias;    // [out], or undefined
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t output_padding = 0;

  // Length L -> (L - 1) * stride - 2 * padding + kernel + output_padding.
  at::Tensor forward(const at::Tensor& x) const;  // [B, in, L] -> [B, out, L']
};

struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out], or undefined

  at::Tensor forward(const at::Tensor& x) const;  // [..., in] -> [..., out]
};

// `<prefix>.weight` [out, in / groups, kernel] and, if has_bias, `<prefix>.bias` [out].
// Geometry (stride, padding, ...) is left at the defaults for the caller to set.
Conv1d load_conv1d(const CodecWeights& w, const std::string& prefix, std::int64_t out_channels,
                   std::int64_t in_channels, std::int64_t kernel, bool has_bias, std::int64_t groups = 1);

// `<prefix>.weight` [in, out, kernel] and `<prefix>.bias` [out].
ConvTranspose1d load_conv_transpose1d(const CodecWeights& w, const std::string& prefix, std::int64_t in_channels,
                                      std::int64_t out_channels, std::int64_t kernel);

// `<prefix>.weight` [out, in] and, if has_bias, `<prefix>.bias` [out].
Linear load_linear(const CodecWeights& w, const std::string& prefix, std::int64_t out_features,
                   std::int64_t in_features, bool has_bias = true);

}  // namespace higgs::codec
