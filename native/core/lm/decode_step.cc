#include "lm/decode_step.h"

#include <cmath>
#include <limits>

#include "errors.h"

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

AudioDecodeStep::AudioDecodeStep(HiggsLM& model, DecodeState& state) : model_(model), state_(state) {
  const auto& c = model.config();
  auto longs = at::TensorOptions().dtype(at::kLong).device(model.options().device());
  codebook_offsets_ = at::arange(c.num_codebooks, longs) * c.codebook_vocab;
  key_index_ = at::arange(model.cache().max_context(), longs);
}

void AudioDecodeStep::run(std::int64_t bucket) {
  const auto& c = model_.config();
  const auto& w = model_.weights();
  auto& cache = model_.cache();
  const auto eps = c.rms_norm_eps;
  const auto K = c.num_codebooks, H = c.hidden_size, D = c.head_dim;
  const auto heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  const auto& pos = state_.position;

  // The fed column's embedding: the sum of its codebook rows, as HiggsLM::embed.
  auto x = w.embed_audio.index_select(0, state_.previous + codebook_offsets_).view({1, K, H}).sum(1);
  auto cos = model_.rope().cos.index_select(0, pos);
  auto sin = model_.rope().sin.index_select(0, pos);
  auto future = key_index_.narrow(0, 0, bucket) > pos;  // keys after this position stay hidden
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));

  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& l = w.layers[i];
    auto qkv = split_qkv(at::linear(rms_norm(x, l.audio_input_norm, eps), l.qkv_proj), heads, kv_heads, D);
    auto q = apply_rope(qkv.q, cos, sin);
    cache.keys(i).index_copy_(0, pos, apply_rope(qkv.k, cos, sin));
    cache.values(i).index_copy_(0, pos, qkv.v);
    auto keys = cache.keys(i).narrow(0, 0, bucket);      // [B, kv_heads, D]
    auto values = cache.values(i).narrow(0, 0, bucket);
    // GQA with one query: query head h reads kv head h / group.
    auto scores = at::bmm(q.view({kv_heads, group, D}), keys.permute({1, 2, 0})) * scale;  // [kv, group, B]
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
    auto probs = at::softmax(scores, -1, at::kFloat).to(x.scalar_type());
    auto attended = at::bmm(probs, values.permute({1, 0, 2})).view({1, heads * D});
    x = x + at::linear(attended, l.o_proj);
    x = x + gated_mlp(rms_norm(x, l.audio_post_attention_norm, eps), l.audio_gate_up_proj, l.audio_down_proj);
  }
  auto hidden = rms_norm(x, w.norm, eps);
  auto logits = at::linear(hidden, w.audio_head).view({K, c.codebook_vocab}).to(at::kFloat);
  state_.advance(logits);
}

}  // namespace higgs::lm
