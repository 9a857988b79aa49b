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

std::vector<std::int64_t> row_buckets(std::int64_t rows) {
  std::vector<std::int64_t> buckets;
  for (std::int64_t b = 1; b < rows; b *= 2) buckets.push_back(b);
  buckets.push_back(rows);
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

AudioDecodeStep::AudioDecodeStep(HiggsLM& model, DecodeState& state, KvArena& arena, bool batched, bool fused)
    : AudioDecodeStep(model, state, fused && !batched && fused_kernels_usable(model)) {
  if (arena.rows() != state.rows() || arena.max_context() > model.cache().max_context()) {
    throw HiggsError(ErrorCode::Internal, "a decode step over an arena of other rows or a longer context than the model's");
  }
  arena_ = &arena;
  batched_ = batched;
}

at::Tensor AudioDecodeStep::logits(std::int64_t rows, std::int64_t bucket, const std::vector<std::int64_t>* row_buckets) {
  if (rows < 1 || rows > state_.rows() || (!arena_ && rows != 1) ||
      (row_buckets && static_cast<std::int64_t>(row_buckets->size()) < rows)) {
    throw HiggsError(ErrorCode::Internal, "decode step over " + std::to_string(rows) + " rows of " + std::to_string(state_.rows()));
  }
  if (batched_) return batched_logits(rows, bucket);
  std::vector<at::Tensor> each;
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto own = row_buckets ? (*row_buckets)[static_cast<std::size_t>(r)] : bucket;
    each.push_back(fused_ ? fused_logits(r, own) : row_logits(r, own));
  }
  return at::stack(each);
}

const at::Tensor& AudioDecodeStep::row_keys(std::int64_t layer, std::int64_t row) const {
  return arena_ ? arena_->row(row).keys(layer) : model_.cache().keys(layer);
}

const at::Tensor& AudioDecodeStep::row_values(std::int64_t layer, std::int64_t row) const {
  return arena_ ? arena_->row(row).values(layer) : model_.cache().values(layer);
}

// Where rows first.. write their K/V: their position, or the arena's scratch position for the
// rows that do not advance (over the model's cache, the one row always writes at its position).
at::Tensor AudioDecodeStep::write_positions(std::int64_t first, std::int64_t rows) const {
  auto position = state_.position.narrow(0, first, rows);
  if (!arena_) return position;
  auto advancing = state_.advancing(first + rows).narrow(0, first, rows);
  return at::where(advancing, position, at::full_like(position, arena_->scratch_position()));
}

// The RoPE rows of rows first..: a row that does not advance may hold any position.
at::Tensor AudioDecodeStep::rope_positions(std::int64_t first, std::int64_t rows) const {
  return state_.position.narrow(0, first, rows).clamp(0, key_index_.size(0) - 1);
}

// Attention of one row's q [heads, D] over the first `bucket` positions of its cache, the ones
// after its position masked. [1, heads * D]
at::Tensor AudioDecodeStep::row_attention(std::int64_t layer, std::int64_t row, const at::Tensor& q,
                                          std::int64_t bucket) const {
  const auto& c = model_.config();
  const auto D = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  auto keys = row_keys(layer, row).narrow(0, 0, bucket);  // [T, kv_heads, D]
  auto values = row_values(layer, row).narrow(0, 0, bucket);
  auto future = key_index_.narrow(0, 0, bucket) > state_.position.narrow(0, row, 1);  // keys after this position stay hidden
  // GQA with one query: query head h reads kv head h / group.
  auto scores = at::bmm(q.reshape({kv_heads, group, D}), keys.permute({1, 2, 0})) *
                (1.0 / std::sqrt(static_cast<double>(D)));  // [kv, group, T]
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::bmm(probs, values.permute({1, 0, 2})).view({1, heads * D});
}

// The same for rows 0..B-1 at once, each over its own row of the arena: q [B, heads, D].
at::Tensor AudioDecodeStep::batched_attention(std::int64_t layer, std::int64_t B, const at::Tensor& q,
                                              std::int64_t bucket) const {
  const auto& c = model_.config();
  const auto D = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  auto keys = arena_->keys(layer).narrow(0, 0, B).narrow(1, 0, bucket);  // [B, T, kv_heads, D]
  auto values = arena_->values(layer).narrow(0, 0, B).narrow(1, 0, bucket);
  auto future = key_index_.narrow(0, 0, bucket).view({1, 1, 1, bucket}) >
                state_.position.narrow(0, 0, B).view({B, 1, 1, 1});
  auto scores = at::matmul(q.reshape({B, kv_heads, group, D}), keys.permute({0, 2, 3, 1})) *
                (1.0 / std::sqrt(static_cast<double>(D)));  // [B, kv, group, T]
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, values.permute({0, 2, 1, 3})).reshape({B, heads * D});
}

at::Tensor AudioDecodeStep::row_logits(std::int64_t row, std::int64_t bucket) {
  const auto& c = model_.config();
  const auto& w = model_.weights();
  const auto eps = c.rms_norm_eps;
  const auto write = write_positions(row, 1);
  const auto rope = rope_positions(row, 1);
  // The fed column's embedding: the sum of its codebook rows, as HiggsLM::embed. [1, H]
  auto x = w.embed_audio.index_select(0, state_.previous[row] + codebook_offsets_)
               .view({1, c.num_codebooks, c.hidden_size})
               .sum(1);
  auto cos = model_.rope().cos.index_select(0, rope);
  auto sin = model_.rope().sin.index_select(0, rope);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& l = w.layers[i];
    auto qkv = project_qkv(rms_norm(x, l.audio_input_norm, eps), l, c.num_heads, c.num_kv_heads, c.head_dim);
    row_keys(i, row).index_copy_(0, write, apply_rope(qkv.k, cos, sin));
    row_values(i, row).index_copy_(0, write, qkv.v);
    x = x + project(row_attention(i, row, apply_rope(qkv.q, cos, sin), bucket), l.o_proj, l.int8_o);
    x = x + audio_mlp(rms_norm(x, l.audio_post_attention_norm, eps), l);
  }
  auto hidden = rms_norm(x, w.norm, eps);
  return project(hidden, w.audio_head, w.int8_audio_head).view({c.num_codebooks, c.codebook_vocab}).to(at::kFloat);
}

at::Tensor AudioDecodeStep::batched_logits(std::int64_t B, std::int64_t bucket) {
  const auto& c = model_.config();
  const auto& w = model_.weights();
  const auto eps = c.rms_norm_eps;
  const auto K = c.num_codebooks;
  // Each row writes at its own base in the flattened arena: row r, position p -> r * (C + 1) + p.
  const auto stride = arena_->max_context() + 1;
  const auto flat = at::arange(B, key_index_.options()) * stride + write_positions(0, B);
  const auto rope = rope_positions(0, B);
  auto x = w.embed_audio.index_select(0, (state_.previous.narrow(0, 0, B) + codebook_offsets_.view({1, K})).view({-1}))
               .view({B, K, c.hidden_size})
               .sum(1);
  auto cos = model_.rope().cos.index_select(0, rope);
  auto sin = model_.rope().sin.index_select(0, rope);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& l = w.layers[i];
    auto qkv = project_qkv(rms_norm(x, l.audio_input_norm, eps), l, c.num_heads, c.num_kv_heads, c.head_dim);
    const auto rows_of = [&](const at::Tensor& t) { return t.view({-1, c.num_kv_heads, c.head_dim}); };
    rows_of(arena_->keys(i)).index_copy_(0, flat, apply_rope(qkv.k, cos, sin));
    rows_of(arena_->values(i)).index_copy_(0, flat, qkv.v);
    x = x + project(batched_attention(i, B, apply_rope(qkv.q, cos, sin), bucket), l.o_proj, l.int8_o);
    x = x + audio_mlp(rms_norm(x, l.audio_post_attention_norm, eps), l);
  }
  auto hidden = rms_norm(x, w.norm, eps);
  return project(hidden, w.audio_head, w.int8_audio_head).view({B, K, c.codebook_vocab}).to(at::kFloat);
}

// One row's step with residual adds folded into the norms: x_l + mlp_{l-1} and x + attention
// are added by the kernel that normalises them. The kernels take one position for the RoPE
// row, the K/V write and the attended length: a row that does not advance uses the scratch one.
at::Tensor AudioDecodeStep::fused_logits(std::int64_t row, std::int64_t bucket) {
  const auto& c = model_.config();
  const auto& w = model_.weights();
  const auto eps = c.rms_norm_eps;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  const auto position = write_positions(row, 1);
  // One row through a projection: the GEMV kernel for dense bf16 weights, the int8 kernel for int8 ones.
  auto linear = [](const at::Tensor& h, const at::Tensor& dense, const Int8Weight& int8) {
    return int8.defined() ? project(h, dense, int8) : gpu::linear_row(h, dense);
  };
  auto x = w.embed_audio.index_select(0, state_.previous[row] + codebook_offsets_)
               .view({1, c.num_codebooks, c.hidden_size})
               .sum(1);
  at::Tensor delta;  // the previous layer's MLP output, not yet added to x
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& l = w.layers[i];
    auto [residual, h] = gpu::add_rms_norm(x, delta, l.audio_input_norm, eps);
    const auto& keys = row_keys(i, row);
    const auto& values = row_values(i, row);
    auto q = gpu::rope_write_kv(linear(h, l.qkv_proj, l.int8_qkv), model_.rope().cos, model_.rope().sin, position, keys,
                                values, c.num_heads, c.num_kv_heads);
    auto attended = fused_attention_ ? gpu::decode_attention(q, keys, values, position, scale)
                                    : row_attention(i, row, q, bucket);
    auto [after_attention, h2] =
        gpu::add_rms_norm(residual, linear(attended, l.o_proj, l.int8_o), l.audio_post_attention_norm, eps);
    delta = linear(gpu::silu_mul(linear(h2, l.audio_gate_up_proj, l.int8_audio_gate_up)), l.audio_down_proj,
                   l.int8_audio_down);
    x = after_attention;
  }
  auto hidden = gpu::add_rms_norm(x, delta, w.norm, eps).second;
  return linear(hidden, w.audio_head, w.int8_audio_head).view({c.num_codebooks, c.codebook_vocab}).to(at::kFloat);
}

}  // namespace higgs::lm
