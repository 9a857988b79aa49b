#include "codec/rvq_encode.h"

#include <tuple>

namespace higgs::codec {
namespace {

// -(|p|^2 - 2 p.E^T + |E|^2), written as the reference writes it so that the rounding of near
// ties matches: the argmax of this is the nearest codeword.
at::Tensor neg_sq_distance(const at::Tensor& p, const at::Tensor& embed) {
  auto embed_t = embed.t();
  auto p_sq = p.pow(2).sum(1, /*keepdim=*/true);
  auto e_sq = embed_t.pow(2).sum(0, /*keepdim=*/true);
  return -((p_sq - at::matmul(p * 2, embed_t)) + e_sq);
}

}  // namespace

at::Tensor rvq_encode(const std::vector<RvqLayer>& layers, const at::Tensor& embeddings, at::Tensor* margins) {
  at::Tensor residual = embeddings;
  std::vector<at::Tensor> codes, gaps;
  for (const auto& layer : layers) {
    auto p = at::linear(residual, layer.project_in_w, layer.project_in_b);
    auto dist = neg_sq_distance(p, layer.embed);
    auto idx = std::get<1>(dist.max(-1));
    if (margins) {
      auto top2 = std::get<0>(dist.topk(2, -1));
      gaps.push_back(top2.select(1, 0) - top2.select(1, 1));
    }
    auto quantized = at::linear(layer.embed.index_select(0, idx), layer.project_out_w, layer.project_out_b);
    residual = residual - quantized;
    codes.push_back(idx);
  }
  if (margins) *margins = at::stack(gaps, 0);
  return at::stack(codes, 0);
}

}  // namespace higgs::codec
