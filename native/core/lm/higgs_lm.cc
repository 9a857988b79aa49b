// The Higgs LM forward (higgs_lm.h): input checks, DualFFN routing, attention over the KV cache
// and the heads; and make_lm_input, a request's host vectors as LmInput.
#include "lm/higgs_lm.h"

#include <cmath>
#include <limits>

#include "errors.h"

namespace higgs::lm {

// Which rows take the text path and which the audio path (DualFFN), on the model's device.
struct HiggsLM::Routing {
  bool all_text = false;
  bool all_audio = false;
  at::Tensor text_rows, audio_rows;  // int64 row indices

  // Applies text_fn to the text rows and audio_fn to the audio rows; each keeps the row shape.
  template <typename TextFn, typename AudioFn>
  at::Tensor apply(const at::Tensor& x, TextFn text_fn, AudioFn audio_fn) const {
    if (all_text) return text_fn(x);
    if (all_audio) return audio_fn(x);
    auto out = at::empty_like(x);
    out.index_copy_(0, text_rows, text_fn(x.index_select(0, text_rows)));
    out.index_copy_(0, audio_rows, audio_fn(x.index_select(0, audio_rows)));
    return out;
  }
};

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  auto x32 = x.to(at::kFloat);
  auto variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * at::rsqrt(variance + eps)).to(x.scalar_type());
}

at::Tensor gated_mlp(const at::Tensor& x, const at::Tensor& gate_up, const at::Tensor& gate, const at::Tensor& up,
                     const at::Tensor& down, const Int8Weight& int8_gate_up, const Int8Weight& int8_down) {
  if (!gate_up.defined() && !int8_gate_up.defined()) {
    return at::linear(at::silu(at::linear(x, gate)) * at::linear(x, up), down);
  }
  auto both = project(x, gate_up, int8_gate_up);
  const auto I = both.size(-1) / 2;
  return project(at::silu(both.narrow(-1, 0, I)) * both.narrow(-1, I, I), down, int8_down);
}

at::Tensor text_mlp(const at::Tensor& x, const LayerWeights& w) {
  return gated_mlp(x, w.gate_up_proj, w.gate_proj, w.up_proj, w.down_proj, w.int8_gate_up, w.int8_down);
}

at::Tensor audio_mlp(const at::Tensor& x, const LayerWeights& w) {
  return gated_mlp(x, w.audio_gate_up_proj, w.audio_gate_proj, w.audio_up_proj, w.audio_down_proj, w.int8_audio_gate_up,
                   w.int8_audio_down);
}

Qkv project_qkv(const at::Tensor& h, const LayerWeights& w, std::int64_t heads, std::int64_t kv_heads,
                std::int64_t head_dim) {
  if (w.qkv_proj.defined() || w.int8_qkv.defined()) {
    return split_qkv(project(h, w.qkv_proj, w.int8_qkv), heads, kv_heads, head_dim);
  }
  const auto L = h.size(0);
  return {at::linear(h, w.q_proj).view({L, heads, head_dim}), at::linear(h, w.k_proj).view({L, kv_heads, head_dim}),
          at::linear(h, w.v_proj).view({L, kv_heads, head_dim})};
}

Qkv split_qkv(const at::Tensor& qkv, std::int64_t heads, std::int64_t kv_heads, std::int64_t D) {
  const auto L = qkv.size(0);
  return {qkv.narrow(-1, 0, heads * D).view({L, heads, D}),
          qkv.narrow(-1, heads * D, kv_heads * D).view({L, kv_heads, D}),
          qkv.narrow(-1, (heads + kv_heads) * D, kv_heads * D).view({L, kv_heads, D})};
}

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw HiggsError(ErrorCode::Input, message);
}

}  // namespace

LmInput make_lm_input(const HiggsConfig& c, const std::vector<std::int32_t>& ids, const std::vector<std::uint8_t>& mask,
                      const std::vector<std::int32_t>& codes, std::int64_t start_pos) {
  const auto L = static_cast<std::int64_t>(ids.size());
  if (static_cast<std::int64_t>(mask.size()) != L) {
    throw HiggsError(ErrorCode::Input, "audio_mask must have one entry per input id (" + std::to_string(L) + ")");
  }
  if (codes.size() % c.num_codebooks != 0) {
    throw HiggsError(ErrorCode::Input, "audio_codes must hold a multiple of " + std::to_string(c.num_codebooks) + " codes");
  }
  LmInput in;
  in.input_ids = at::tensor(at::ArrayRef<std::int32_t>(ids), at::kInt).to(at::kLong);
  in.audio_mask = at::tensor(at::ArrayRef<std::uint8_t>(mask), at::kByte).to(at::kBool);
  const auto frames = static_cast<std::int64_t>(codes.size()) / c.num_codebooks;
  in.audio_codes = at::tensor(at::ArrayRef<std::int32_t>(codes), at::kInt).to(at::kLong).view({frames, c.num_codebooks});
  in.start_pos = start_pos;
  return in;
}

HiggsLM::HiggsLM(HiggsConfig config, HiggsWeights weights, std::int64_t max_context,
                 const at::TensorOptions& options)
    : config_(std::move(config)),
      weights_([&] {
        // On the GPU the weights are copies anyway, and one GEMM beats three launches; on the CPU
        // they stay in place in the file's memory map (fusing would copy most of the model).
        // Int8 weights are fused already (quantize_layer).
        if (options.device().is_cuda() && !weights.int8()) fuse_projections(weights);
        return std::move(weights);
      }()),
      options_(options),
      cache_(config_.num_layers, max_context, config_.num_kv_heads, config_.head_dim, options),
      // One row past max_context: the scratch position of a KvArena row (kv_cache.h) is ropes too.
      rope_(rope_tables(config_.rope, config_.head_dim, max_context + 1, options)) {}

void HiggsLM::validate(const LmInput& in, bool text_logits, const KvCache& cache) const {
  require(in.input_ids.defined() && in.input_ids.dim() == 1 && in.input_ids.size(0) >= 1,
          "input_ids must be a non-empty 1-D sequence");
  const auto L = in.input_ids.size(0);
  require(in.audio_mask.defined() && in.audio_mask.dim() == 1 && in.audio_mask.size(0) == L,
          "audio_mask must have one entry per input position (" + std::to_string(L) + ")");
  const auto n_audio = in.audio_mask.sum().item<std::int64_t>();
  const auto K = config_.num_codebooks;
  require(in.audio_codes.defined() && in.audio_codes.dim() == 2 && in.audio_codes.size(0) == n_audio &&
              in.audio_codes.size(1) == K,
          "audio_codes must hold " + std::to_string(K) + " codes for each of the " +
              std::to_string(n_audio) + " audio positions");
  require(in.start_pos >= 0 && in.start_pos <= cache.length(),
          "start_pos " + std::to_string(in.start_pos) + " is past the cached length " +
              std::to_string(cache.length()));
  require(in.start_pos + L <= cache.max_context(),
          "context of " + std::to_string(in.start_pos + L) + " positions exceeds max_context " +
              std::to_string(cache.max_context()));
  auto text_ids = in.input_ids.masked_select(in.audio_mask.logical_not());
  if (text_ids.numel() > 0) {
    require(text_ids.min().item<std::int64_t>() >= 0 && text_ids.max().item<std::int64_t>() < config_.vocab_size,
            "input_ids must be in [0, " + std::to_string(config_.vocab_size) + ")");
  }
  if (n_audio > 0) {
    require(in.audio_codes.min().item<std::int64_t>() >= 0 &&
                in.audio_codes.max().item<std::int64_t>() < config_.codebook_vocab,
            "audio codes must be in [0, " + std::to_string(config_.codebook_vocab) + ")");
  }
  require(!text_logits || weights_.has_text_head(),
          "text logits were asked for, but this checkpoint has no text head");
}

at::Tensor HiggsLM::embed(const LmInput& in, const Routing& r) const {
  const auto device = options_.device();
  auto audio_embedding = [&]() {
    // Row k*codebook_vocab + code[k] of the codebook table, summed over the codebooks.
    auto offsets = at::arange(config_.num_codebooks, at::kLong) * config_.codebook_vocab;
    auto rows = (in.audio_codes + offsets).to(device).reshape({-1});
    return weights_.embed_audio.index_select(0, rows)
        .view({in.audio_codes.size(0), config_.num_codebooks, config_.hidden_size})
        .sum(1);
  };
  auto text_embedding = [&](const at::Tensor& ids) { return weights_.embed_tokens.index_select(0, ids.to(device)); };
  if (r.all_audio) return audio_embedding();
  if (r.all_text) return text_embedding(in.input_ids);
  const auto L = in.input_ids.size(0);
  auto x = at::empty({L, config_.hidden_size}, options_);
  x.index_copy_(0, r.text_rows, text_embedding(in.input_ids.index_select(0, r.text_rows.cpu())));
  x.index_copy_(0, r.audio_rows, audio_embedding());
  return x;
}

at::Tensor HiggsLM::attend(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                           std::int64_t start) const {
  const auto L = q.size(0);
  const auto D = config_.head_dim, heads = config_.num_heads, kv_heads = config_.num_kv_heads;
  const auto group = heads / kv_heads;
  const auto T = keys.size(0);
  // GQA: query head h reads kv head h / group, so group the query heads under their kv head.
  auto q_grouped = q.permute({1, 0, 2}).reshape({kv_heads, group * L, D});
  auto scores = at::bmm(q_grouped, keys.permute({1, 2, 0})) * (1.0 / std::sqrt(static_cast<double>(D)));
  if (L > 1) {
    // Causal: row i (absolute position start+i) sees keys 0..start+i.
    auto future = at::ones({L, T}, at::TensorOptions().dtype(at::kBool).device(q.device())).triu(start + 1);
    scores = scores.view({kv_heads, group, L, T})
                 .masked_fill(future, -std::numeric_limits<float>::infinity())
                 .view({kv_heads, group * L, T});
  }
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  auto out = at::bmm(probs, values.permute({1, 0, 2}));  // [kv_heads, group*L, D]
  return out.view({heads, L, D}).permute({1, 0, 2}).reshape({L, heads * D});
}

at::Tensor HiggsLM::attention(std::int64_t layer, const at::Tensor& h, std::int64_t start, KvCache& cache) {
  const auto& w = weights_.layers[layer];
  const auto L = h.size(0);
  auto cos = rope_.cos.narrow(0, start, L);
  auto sin = rope_.sin.narrow(0, start, L);
  auto qkv = project_qkv(h, w, config_.num_heads, config_.num_kv_heads, config_.head_dim);
  auto q = apply_rope(qkv.q, cos, sin);
  auto k = apply_rope(qkv.k, cos, sin);
  auto [keys, values] = cache.write(layer, start, k, qkv.v);  // [T, kv_heads, D], T = start + L
  return project(attend(q, keys, values, start), w.o_proj, w.int8_o);
}

LmOutput HiggsLM::forward(const LmInput& in, LogitsAt logits_at, bool text_logits) {
  return forward(in, logits_at, text_logits, cache_);
}

LmOutput HiggsLM::forward(const LmInput& in, LogitsAt logits_at, bool text_logits, KvCache& cache) {
  require(cache.max_context() <= cache_.max_context(), "a KV cache longer than the model's RoPE tables");
  validate(in, text_logits, cache);
  const auto L = in.input_ids.size(0);
  const auto eps = config_.rms_norm_eps;
  const auto device = options_.device();

  Routing r;
  auto mask = in.audio_mask.to(at::kBool);
  const auto n_audio = in.audio_codes.size(0);
  r.all_audio = n_audio == L;
  r.all_text = n_audio == 0;
  if (!r.all_audio && !r.all_text) {
    r.audio_rows = mask.nonzero().view(-1).to(device);
    r.text_rows = mask.logical_not().nonzero().view(-1).to(device);
  }

  auto x = embed(in, r);
  for (std::int64_t i = 0; i < config_.num_layers; ++i) {
    const auto& w = weights_.layers[i];
    auto h = r.apply(
        x, [&](const at::Tensor& t) { return rms_norm(t, w.input_norm, eps); },
        [&](const at::Tensor& a) { return rms_norm(a, w.audio_input_norm, eps); });
    x = x + attention(i, h, in.start_pos, cache);
    auto y = r.apply(
        x,
        [&](const at::Tensor& t) { return text_mlp(rms_norm(t, w.post_attention_norm, eps), w); },
        [&](const at::Tensor& a) { return audio_mlp(rms_norm(a, w.audio_post_attention_norm, eps), w); });
    x = x + y;
  }
  cache.set_length(in.start_pos + L);

  LmOutput out;
  switch (logits_at) {
    case LogitsAt::Last: out.positions = at::tensor({L - 1}, at::kLong); break;
    case LogitsAt::All: out.positions = at::arange(L, at::kLong); break;
    case LogitsAt::Audio: out.positions = mask.nonzero().view(-1); break;
  }
  // The final norm is per position, so normalising only the selected rows is exact.
  auto hidden = rms_norm(x.index_select(0, out.positions.to(device)), weights_.norm, eps);
  const auto P = out.positions.size(0);
  out.audio_logits = project(hidden, weights_.audio_head, weights_.int8_audio_head)
                         .view({P, config_.num_codebooks, config_.codebook_vocab})
                         .to(at::kFloat)
                         .cpu();
  if (text_logits) out.text_logits = project(hidden, weights_.text_head, weights_.int8_text_head).to(at::kFloat).cpu();
  return out;
}

at::Tensor HiggsLM::decode_columns(const std::vector<AudioRow>& rows) {
  const auto B = static_cast<std::int64_t>(rows.size());
  const auto K = config_.num_codebooks, H = config_.hidden_size;
  const auto eps = config_.rms_norm_eps;
  const auto device = options_.device();
  require(B >= 1, "decode_columns needs at least one row");
  std::vector<std::int64_t> codes, positions;
  for (const auto& row : rows) {
    require(row.cache && row.cache->max_context() <= cache_.max_context(), "a KV cache longer than the model's RoPE tables");
    require(static_cast<std::int64_t>(row.column.size()) == K, "a decode row needs one code per codebook");
    require(row.position >= 0 && row.position <= row.cache->length() && row.position < row.cache->max_context(),
            "decode row position " + std::to_string(row.position) + " is outside its KV cache");
    for (auto code : row.column) {
      require(code >= 0 && code < config_.codebook_vocab, "audio codes must be in [0, " + std::to_string(config_.codebook_vocab) + ")");
    }
    codes.insert(codes.end(), row.column.begin(), row.column.end());
    positions.push_back(row.position);
  }
  // Embedding, norms, projections and the head run once for the B rows (one GEMM per weight);
  // only the attention is per row, over that row's own cache and length.
  auto offsets = at::arange(K, at::kLong) * config_.codebook_vocab;
  auto ids = (at::tensor(codes, at::kLong).view({B, K}) + offsets).to(device).reshape({-1});
  auto x = weights_.embed_audio.index_select(0, ids).view({B, K, H}).sum(1);
  auto at_positions = at::tensor(positions, at::kLong).to(device);
  auto cos = rope_.cos.index_select(0, at_positions);
  auto sin = rope_.sin.index_select(0, at_positions);
  std::vector<at::Tensor> attended(static_cast<std::size_t>(B));
  for (std::int64_t i = 0; i < config_.num_layers; ++i) {
    const auto& w = weights_.layers[i];
    auto qkv = project_qkv(rms_norm(x, w.audio_input_norm, eps), w, config_.num_heads, config_.num_kv_heads,
                           config_.head_dim);
    auto q = apply_rope(qkv.q, cos, sin);
    auto k = apply_rope(qkv.k, cos, sin);
    for (std::int64_t b = 0; b < B; ++b) {
      const auto& row = rows[static_cast<std::size_t>(b)];
      auto [keys, values] = row.cache->write(i, row.position, k.narrow(0, b, 1), qkv.v.narrow(0, b, 1));
      attended[static_cast<std::size_t>(b)] = attend(q.narrow(0, b, 1), keys, values, row.position);
    }
    x = x + project(at::cat(attended, 0), w.o_proj, w.int8_o);
    x = x + audio_mlp(rms_norm(x, w.audio_post_attention_norm, eps), w);
  }
  for (const auto& row : rows) row.cache->set_length(row.position + 1);
  return project(rms_norm(x, weights_.norm, eps), weights_.audio_head, weights_.int8_audio_head)
      .view({B, K, config_.codebook_vocab})
      .to(at::kFloat);
}

}  // namespace higgs::lm
