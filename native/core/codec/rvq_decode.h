// RVQ dequantization of the codec (transformers HiggsAudioV2TokenizerResidualVectorQuantization
// .decode): for each codebook q in order, e_q = codebook_q.embed[codes[q]] ([T, codebook_dim]),
// z_q = project_out_q(e_q) ([T, hidden]); the result is z = sum_q z_q, accumulated in order
// q = 0..K-1 as the reference does. Plain Euclidean codebooks: no normalization anywhere.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "codec/codec_config.h"
#include "codec/conv_layers.h"

namespace higgs::codec {

class RvqDecoder {
 public:
  // Loads quantizer.quantizers.{q}.codebook.embed [codebook_size, codebook_dim] and
  // project_out.{weight [hidden, codebook_dim], bias [hidden]} for q < config.num_quantizers.
  RvqDecoder(const CodecConfig& config, const CodecWeights& weights);

  // codes [B, K, T] int64 on the weights' device, already range-checked -> [B, T, hidden].
  at::Tensor dequantize(const at::Tensor& codes) const;

  std::int64_t num_quantizers() const { return static_cast<std::int64_t>(embed_.size()); }

 private:
  std::vector<at::Tensor> embed_;
  std::vector<Linear> project_out_;
};

}  // namespace higgs::codec
