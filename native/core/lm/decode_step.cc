#include "lm/decode_step.h"

#include <cmath>
#include <limits>

#include "errors.h"
#include "gpu/fused_ops.h"

namespace higgs::lm {

std::vector<std::int64_t> kv_buckets(std::int64_t max_context) {
  std::vector<std::int64_t> buckets;
  for (std::int64_t b = 256; b < max_context; b *= 2) buckets.push_back(b);
  buckets.push_back(max_context);
  return buckets;
}

std::size_t bucket_for(const std::vector<std::int64_t>& buckets, std::int64_t position) {
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (position < buckets[i]) return i;
  }
  throw HiggsError(ErrorCode::Input, "KV position " + std::to_string(position) + " is past max_context " +
                                         std::to_string(buckets.empty() ? 0 : buckets.back()));
}

bool fused_kernels_usable(const HiggsLM& model) {
  return gpu::fused_ops_available() && model.options().device().is_cuda() &&
         model.options().dtype() == at::kBFloat16 && model.config().head_dim <= 1024 &&
         gpu::fused_ops_runnable(model.options().device());
}

bool fused_attention_usable(const HiggsLM& model) {
  return fused_kernels_usable(model) && model.config().head_dim == 128;
}

AudioDecodeStep::AudioDecodeStep(HiggsLM& model, DecodeState& state, bool fused)
    : model_(model), state_(state), fused_(fused), fused_attention_(fused && fused_attention_usable(model)) {
  if (fused && !fused_kernels_usable(model)) {
    throw HiggsError(ErrorCode::Input, "the fused decode kernels need a bf16 CUDA model and a build with the kernels");
  }
  const auto& c = model.config();
  auto longs = at::TensorOptions().dtype(at::kLong).device(model.options().device());
  codebook_offsets_ = at::arange(c.num_codebooks, longs) * c.codebook_vocab;
  key_index_ = at::arange(model.cache().max_context(), longs);
}

at::Tensor AudioDecodeStep::logits(std::int64_t bucket) { return fused_ ? fused_logits(bucket) : aten_logits(bucket); }

// The fed column's embedding: the sum of its codebook rows, as HiggsLM::embed. [1, H]
at::Tensor AudioDecodeStep::embed_previous() const {
  const auto& c = model_.config();
  return model_.weights()
      .embed_audio.index_select(0, state_.previous + codebook_offsets_)
      .view({1, c.num_codebooks, c.hidden_size})
      .sum(1);
}

// Attention of q [heads, D] over the first `bucket` cache positions, the ones after the
// position masked. [1, heads * D]
at::Tensor AudioDecodeStep::bucket_attention(std::int64_t layer, const at::Tensor& q, std::int64_t bucket) const {
  const auto& c = model_.config();
  const auto D = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  auto keys = model_.cache().keys(layer).narrow(0, 0, bucket);  // [B, kv_heads, D]
  auto values = model_.cache().values(layer).narrow(0, 0, bucket);
  auto future = key_index_.narrow(0, 0, bucket) > state_.position;  // keys after this position stay hidden
  // GQA with one query: query head h reads kv head h / group.
  auto scores = at::bmm(q.reshape({kv_heads, group, D}), keys.permute({1, 2, 0})) *
                (1.0 / std::sqrt(static_cast<double>(D)));  // [kv, group, B]
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::bmm(probs, values.permute({1, 0, 2})).view({1, heads * D});
}

at::Tensor AudioDecodeStep::aten_logits(std::int64_t bucket) {
  const auto& c = model_.config();
  const auto& w = model_.weights();
  auto& cache = model_.cache();
  const auto eps = c.rms_norm_eps;
  const auto& pos = state_.position;
  auto x = embed_previous();
  auto cos = model_.rope().cos.index_select(0, pos);
  auto sin = model_.rope().sin.index_select(0, pos);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& l = w.layers[i];
    auto qkv = project_qkv(rms_norm(x, l.audio_input_norm, eps), l, c.num_heads, c.num_kv_heads, c.head_dim);
    cache.keys(i).index_copy_(0, pos, apply_rope(qkv.k, cos, sin));
    cache.values(i).index_copy_(0, pos, qkv.v);
    x = x + at::linear(bucket_attention(i, apply_rope(qkv.q, cos, sin), bucket), l.o_proj);
    x = x + audio_mlp(rms_norm(x, l.audio_post_attention_norm, eps), l);
  }
  auto hidden = rms_norm(x, w.norm, eps);
  return at::linear(hidden, w.audio_head).view({c.num_codebooks, c.codebook_vocab}).to(at::kFloat);
}

// The same step with residual adds folded into the norms: x_l + mlp_{l-1} and x + attention are
// added by the kernel that normalises them.
at::Tensor AudioDecodeStep::fused_logits(std::int64_t bucket) {
  const auto& c = model_.config();
  const auto& w = model_.weights();
  auto& cache = model_.cache();
  const auto eps = c.rms_norm_eps;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  auto x = embed_previous();
  at::Tensor delta;  // the previous layer's MLP output, not yet added to x
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& l = w.layers[i];
    auto [residual, h] = gpu::add_rms_norm(x, delta, l.audio_input_norm, eps);
    auto q = gpu::rope_write_kv(gpu::linear_row(h, l.qkv_proj), model_.rope().cos, model_.rope().sin, state_.position,
                                cache.keys(i), cache.values(i), c.num_heads, c.num_kv_heads);
    auto attended = fused_attention_ ? gpu::decode_attention(q, cache.keys(i), cache.values(i), state_.position, scale)
                                    : bucket_attention(i, q, bucket);
    auto [after_attention, h2] =
        gpu::add_rms_norm(residual, gpu::linear_row(attended, l.o_proj), l.audio_post_attention_norm, eps);
    delta = gpu::linear_row(gpu::silu_mul(gpu::linear_row(h2, l.audio_gate_up_proj)), l.audio_down_proj);
    x = after_attention;
  }
  auto hidden = gpu::add_rms_norm(x, delta, w.norm, eps).second;
  return gpu::linear_row(hidden, w.audio_head).view({c.num_codebooks, c.codebook_vocab}).to(at::kFloat);
}

}  // namespace higgs::lm
