#include "codec/rvq_decode.h"

#include <string>

namespace higgs::codec {

RvqDecoder::RvqDecoder(const CodecConfig& config, const CodecWeights& weights) {
  for (std::int64_t q = 0; q < config.num_quantizers; ++q) {
    const std::string p = "quantizer.quantizers." + std::to_string(q) + ".";
    embed_.push_back(weights.get(p + "codebook.embed", {config.codebook_size, config.codebook_dim}));
    project_out_.push_back(load_linear(weights, p + "project_out", config.hidden_size, config.codebook_dim));
  }
}

at::Tensor RvqDecoder::dequantize(const at::Tensor& codes) const {
  at::Tensor sum;
  for (size_t q = 0; q < embed_.size(); ++q) {
    const at::Tensor vectors = at::embedding(embed_[q], codes.select(1, static_cast<std::int64_t>(q)));
    const at::Tensor projected = project_out_[q].forward(vectors);  // [B, T, hidden]
    if (sum.defined()) {
      sum.add_(projected);
    } else {
      sum = projected;  // 0.0 + z_0 == z_0 exactly, as the reference's start from a 0.0 tensor
    }
  }
  return sum;
}

}  // namespace higgs::codec
