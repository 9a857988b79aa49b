#include "codec/hubert.h"

#include <cmath>
#include <string>

#include "errors.h"

namespace higgs::codec {
namespace {

constexpr double kGroupNormEps = 1e-5;  // nn.GroupNorm's default; HuBERT does not pass its own

// Conv stack -> [1, T, conv_dim.back()] (HubertFeatureEncoder, then the transpose).
at::Tensor feature_encoder(const HubertParams& p, const HubertWeights& w, const at::Tensor& wave) {
  at::Tensor x = wave.view({1, 1, -1});
  for (size_t i = 0; i < w.conv_w.size(); ++i) {
    x = at::conv1d(x, w.conv_w[i], w.conv_b[i], p.conv_stride[i]);
    // Per-channel statistics over time (num_groups == channels), on the first conv only.
    if (i == 0) x = at::group_norm(x, p.conv_dim[0], w.group_norm_w, w.group_norm_b, kGroupNormEps);
    x = at::gelu(x);
  }
  return x.transpose(1, 2);
}

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps) {
  return at::layer_norm(x, {x.size(-1)}, w, b, eps);
}

// Grouped conv over time with an even kernel: PyTorch pads k/2 on both sides, which yields one
// extra frame; HubertSamePadLayer drops the last one.
at::Tensor positional_embedding(const HubertParams& p, const HubertWeights& w, const at::Tensor& h) {
  const std::int64_t k = p.pos_conv_kernel;
  auto x = at::conv1d(h.transpose(1, 2), w.pos_conv_w, w.pos_conv_b, 1, k / 2, 1, p.pos_conv_groups);
  if (k % 2 == 0) x = x.slice(2, 0, x.size(2) - 1);
  return at::gelu(x).transpose(1, 2);
}

// Eager attention as transformers runs it: (q k^T) * scale, softmax, @ v; no mask (batch 1).
at::Tensor self_attention(const HubertParams& p, const HubertLayerWeights& l, const at::Tensor& h) {
  const std::int64_t T = h.size(1), heads = p.num_heads, head_dim = p.hidden_size / p.num_heads;
  auto split = [&](const at::Tensor& w, const at::Tensor& b) {
    return at::linear(h, w, b).view({1, T, heads, head_dim}).transpose(1, 2);
  };
  auto q = split(l.q_w, l.q_b), k = split(l.k_w, l.k_b), v = split(l.v_w, l.v_b);
  const double scaling = std::pow(static_cast<double>(head_dim), -0.5);  // Python: head_dim ** -0.5
  auto scores = at::matmul(q, k.transpose(2, 3)) * scaling;
  auto out = at::matmul(at::softmax(scores, -1), v);
  out = out.transpose(1, 2).contiguous().reshape({1, T, p.hidden_size});
  return at::linear(out, l.out_w, l.out_b);
}

// Post-LN layer: LN(h + attn(h)), then LN(h + ffn(h)).
at::Tensor encoder_layer(const HubertParams& p, const HubertLayerWeights& l, const at::Tensor& h) {
  auto x = layer_norm(h + self_attention(p, l, h), l.attn_norm_w, l.attn_norm_b, p.layer_norm_eps);
  auto ff = at::linear(at::gelu(at::linear(x, l.ff_in_w, l.ff_in_b)), l.ff_out_w, l.ff_out_b);
  return layer_norm(x + ff, l.final_norm_w, l.final_norm_b, p.layer_norm_eps);
}

}  // namespace

std::int64_t hubert_num_frames(const HubertParams& params, std::int64_t samples) {
  std::int64_t length = samples;
  for (size_t i = 0; i < params.conv_kernel.size(); ++i) {
    if (length < params.conv_kernel[i]) return 0;
    length = (length - params.conv_kernel[i]) / params.conv_stride[i] + 1;
  }
  return length;
}

at::Tensor hubert_hidden_states(const HubertParams& params, const HubertWeights& weights, const at::Tensor& wave) {
  if (hubert_num_frames(params, wave.numel()) < 1) {
    throw HiggsError(ErrorCode::Input, "HuBERT input of " + std::to_string(wave.numel()) +
                                           " samples is shorter than its receptive field");
  }
  auto features = feature_encoder(params, weights, wave);
  if (params.feat_proj_layer_norm) {
    features = layer_norm(features, weights.proj_norm_w, weights.proj_norm_b, params.layer_norm_eps);
  }
  auto h = at::linear(features, weights.proj_w, weights.proj_b);
  h = h + positional_embedding(params, weights, h);
  h = layer_norm(h, weights.encoder_norm_w, weights.encoder_norm_b, params.layer_norm_eps);

  std::vector<at::Tensor> states{h};
  for (const auto& layer : weights.layers) {
    h = encoder_layer(params, layer, h);
    states.push_back(h);
  }
  return at::stack(states, 0);
}

}  // namespace higgs::codec
