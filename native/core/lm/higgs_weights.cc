#include "lm/higgs_weights.h"

#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "errors.h"
#include "io/safetensors.h"
#include "io/tensor_view_to_tensor.h"
#include "lm/int8_checkpoint.h"
#include "lm/weight_names.h"

namespace higgs::lm {
namespace {

struct WeightSet {
  std::map<std::string, WeightSource> sources;
  std::set<std::string> used;
  std::string dir;
  at::TensorOptions options;
  std::int64_t done = 0, total = 0;
  const LoadProgressFn* progress = nullptr;

  bool has(const std::string& name) const { return sources.count(name) > 0; }

  at::Tensor take(const std::string& name, std::vector<std::int64_t> shape) {
    auto it = sources.find(name);
    if (it == sources.end()) throw model_format_error(dir, "missing tensor " + name);
    used.insert(name);
    const auto& parts = it->second.parts;
    std::vector<at::Tensor> tensors;
    for (const auto& part : parts) tensors.push_back(io::float_tensor_from_view(part));
    at::Tensor whole = tensors.size() == 1 ? tensors[0] : at::cat(tensors, 0);
    if (whole.sizes() != at::IntArrayRef(shape)) {
      throw model_format_error(parts.front().file->path(),
                               "tensor " + name + " has shape " + io::shape_text(whole.sizes()) +
                                   ", expected " + io::shape_text(shape));
    }
    at::Tensor result = whole.to(options);
    if (progress && *progress) (*progress)(++done, total);
    return result;
  }
};

}  // namespace

namespace {

// Every dense tensor and every int8 weight the model holds (released ones are undefined).
template <typename DenseFn, typename Int8Fn>
void for_each_weight(const HiggsWeights& w, DenseFn dense, Int8Fn int8) {
  auto d = [&](const at::Tensor& t) {
    if (t.defined()) dense(t);
  };
  auto q = [&](const Int8Weight& t) {
    if (t.defined()) int8(t);
  };
  for (const auto* t : {&w.embed_tokens, &w.embed_audio, &w.norm, &w.audio_head, &w.text_head}) d(*t);
  q(w.int8_audio_head);
  q(w.int8_text_head);
  for (const auto& l : w.layers) {
    // The fused tensors are not counted: the separate ones are views of them.
    for (const auto* t : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj,
                          &l.audio_gate_proj, &l.audio_up_proj, &l.audio_down_proj, &l.input_norm,
                          &l.post_attention_norm, &l.audio_input_norm, &l.audio_post_attention_norm}) {
      d(*t);
    }
    for (const auto* t : {&l.int8_qkv, &l.int8_o, &l.int8_gate_up, &l.int8_down, &l.int8_audio_gate_up, &l.int8_audio_down}) {
      q(*t);
    }
  }
}

}  // namespace

std::int64_t HiggsWeights::parameter_count() const {
  std::int64_t n = 0;
  for_each_weight(
      *this, [&](const at::Tensor& t) { n += t.numel(); }, [&](const Int8Weight& t) { n += t.weight.numel(); });
  return n;
}

std::int64_t HiggsWeights::bytes() const {
  std::int64_t n = 0;
  for_each_weight(
      *this, [&](const at::Tensor& t) { n += t.numel() * static_cast<std::int64_t>(t.element_size()); },
      [&](const Int8Weight& t) { n += t.bytes(); });
  return n;
}

void quantize_layer(LayerWeights& l) {
  l.int8_qkv = concat_int8({quantize_int8(l.q_proj), quantize_int8(l.k_proj), quantize_int8(l.v_proj)});
  l.int8_o = quantize_int8(l.o_proj);
  l.int8_gate_up = concat_int8({quantize_int8(l.gate_proj), quantize_int8(l.up_proj)});
  l.int8_down = quantize_int8(l.down_proj);
  l.int8_audio_gate_up = concat_int8({quantize_int8(l.audio_gate_proj), quantize_int8(l.audio_up_proj)});
  l.int8_audio_down = quantize_int8(l.audio_down_proj);
  for (auto* t : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj, &l.audio_gate_proj,
                  &l.audio_up_proj, &l.audio_down_proj, &l.qkv_proj, &l.gate_up_proj, &l.audio_gate_up_proj}) {
    *t = at::Tensor();
  }
}

namespace {
void quantize_heads(HiggsWeights& w) {
  w.int8_audio_head = quantize_int8(w.audio_head);
  w.audio_head = at::Tensor();
  if (w.text_head.defined()) w.int8_text_head = quantize_int8(w.text_head);
  w.text_head = at::Tensor();
}
}  // namespace

void quantize_projections(HiggsWeights& w) {
  if (w.int8()) return;
  for (auto& l : w.layers) quantize_layer(l);
  quantize_heads(w);
}

HiggsWeights load_weights(const std::string& model_dir, const HiggsConfig& c,
                          const at::TensorOptions& options, const LoadProgressFn& progress, WeightFormat format) {
  // A directory 'higgs-audio quantize' wrote: its int8 weights as saved (lm/int8_checkpoint.h).
  if (const auto manifest = read_int8_manifest(model_dir)) {
    require_int8_format(*manifest, format);
    return load_int8_checkpoint(*manifest, c, options, progress);
  }
  const auto checkpoint = io::Checkpoint::open_dir(model_dir);
  WeightSet set;
  set.sources = canonical_weights(checkpoint);
  set.dir = model_dir;
  set.options = options;
  set.total = static_cast<std::int64_t>(set.sources.size());
  set.progress = &progress;

  const auto shapes = canonical_shapes(c, set.has("text_lm_head.weight"));
  auto take = [&](const std::string& name) { return set.take(name, shapes.at(name)); };
  HiggsWeights w;
  w.embed_tokens = take("model.embed_tokens.weight");
  w.embed_audio = take("model.embed_audio_tokens.embed_audio_tokens.weight");
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights l;
    l.q_proj = take(p + "self_attn.q_proj.weight");
    l.k_proj = take(p + "self_attn.k_proj.weight");
    l.v_proj = take(p + "self_attn.v_proj.weight");
    l.o_proj = take(p + "self_attn.o_proj.weight");
    l.gate_proj = take(p + "mlp.gate_proj.weight");
    l.up_proj = take(p + "mlp.up_proj.weight");
    l.down_proj = take(p + "mlp.down_proj.weight");
    l.audio_gate_proj = take(p + "audio_mlp.gate_proj.weight");
    l.audio_up_proj = take(p + "audio_mlp.up_proj.weight");
    l.audio_down_proj = take(p + "audio_mlp.down_proj.weight");
    l.input_norm = take(p + "input_layernorm.weight");
    l.post_attention_norm = take(p + "post_attention_layernorm.weight");
    l.audio_input_norm = take(p + "audio_input_layernorm.weight");
    l.audio_post_attention_norm = take(p + "audio_post_attention_layernorm.weight");
    if (format == WeightFormat::Int8) quantize_layer(l);
    w.layers.push_back(std::move(l));
  }
  w.norm = take("model.norm.weight");
  w.audio_head = take("audio_lm_head.weight");
  if (format == WeightFormat::Int8) {
    w.int8_audio_head = quantize_int8(w.audio_head);
    w.audio_head = at::Tensor();
  }
  if (set.has("text_lm_head.weight")) w.text_head = take("text_lm_head.weight");
  if (format == WeightFormat::Int8 && w.text_head.defined()) {
    w.int8_text_head = quantize_int8(w.text_head);
    w.text_head = at::Tensor();
  }

  for (const auto& [name, source] : set.sources) {
    if (!set.used.count(name)) {
      throw model_format_error(source.parts.front().file->path(),
                               "unexpected tensor " + name + " (the config has " +
                                   std::to_string(c.num_layers) + " layers)");
    }
  }
  return w;
}

void fuse_projections(HiggsWeights& w) {
  for (auto& l : w.layers) {
    const auto q = l.q_proj.size(0), kv = l.k_proj.size(0), I = l.gate_proj.size(0);
    l.qkv_proj = at::cat({l.q_proj, l.k_proj, l.v_proj}, 0);
    l.q_proj = l.qkv_proj.narrow(0, 0, q);
    l.k_proj = l.qkv_proj.narrow(0, q, kv);
    l.v_proj = l.qkv_proj.narrow(0, q + kv, kv);
    l.gate_up_proj = at::cat({l.gate_proj, l.up_proj}, 0);
    l.gate_proj = l.gate_up_proj.narrow(0, 0, I);
    l.up_proj = l.gate_up_proj.narrow(0, I, I);
    l.audio_gate_up_proj = at::cat({l.audio_gate_proj, l.audio_up_proj}, 0);
    l.audio_gate_proj = l.audio_gate_up_proj.narrow(0, 0, I);
    l.audio_up_proj = l.audio_gate_up_proj.narrow(0, I, I);
  }
}

HiggsWeights random_weights(const HiggsConfig& c, std::uint64_t seed,
                            const at::TensorOptions& options, bool with_text_head, WeightFormat format) {
  // Generated on the target device in fp32, then cast: same values for the same seed on a device.
  auto gen_options = options.dtype(at::kFloat);
  at::manual_seed(seed);
  auto normal = [&](std::vector<std::int64_t> shape, double std) {
    return (at::randn(shape, gen_options) * std).to(options);
  };
  auto norm_weight = [&](std::int64_t n) { return (1.0 + at::randn({n}, gen_options) * 0.05).to(options); };
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const std::int64_t audio_rows = c.num_codebooks * c.codebook_vocab;
  const double s = 0.02;
  HiggsWeights w;
  w.embed_tokens = normal({c.vocab_size, H}, 1.0);
  w.embed_audio = normal({audio_rows, H}, 1.0 / std::sqrt(static_cast<double>(c.num_codebooks)));
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    LayerWeights l;
    l.q_proj = normal({c.num_heads * D, H}, s);
    l.k_proj = normal({c.num_kv_heads * D, H}, s);
    l.v_proj = normal({c.num_kv_heads * D, H}, s);
    l.o_proj = normal({H, c.num_heads * D}, s);
    l.gate_proj = normal({I, H}, s);
    l.up_proj = normal({I, H}, s);
    l.down_proj = normal({H, I}, s);
    l.audio_gate_proj = normal({I, H}, s);
    l.audio_up_proj = normal({I, H}, s);
    l.audio_down_proj = normal({H, I}, s);
    l.input_norm = norm_weight(H);
    l.post_attention_norm = norm_weight(H);
    l.audio_input_norm = norm_weight(H);
    l.audio_post_attention_norm = norm_weight(H);
    if (format == WeightFormat::Int8) quantize_layer(l);
    w.layers.push_back(std::move(l));
  }
  w.norm = norm_weight(H);
  w.audio_head = normal({audio_rows, H}, s);
  if (with_text_head) w.text_head = normal({c.vocab_size, H}, s);
  if (format == WeightFormat::Int8) quantize_heads(w);
  return w;
}

}  // namespace higgs::lm
