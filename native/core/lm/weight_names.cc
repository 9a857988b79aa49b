// Key renaming from the original boson-ai checkpoint layout to the transformers one (the three
// rewrites of transformers' convert_higgs_audio_v2_to_hf.py), plus merging of split tensors.
// Keys are matched against an explicit list so that a checkpoint of another model fails here,
// naming the key, rather than later with a missing-weight error.
#include "lm/weight_names.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "errors.h"

namespace higgs::lm {

namespace {

enum class Part { Whole, Frozen, Trainable };

struct KeyMapping {
  std::string canonical;  // "" when the key is ignored
  Part part = Part::Whole;
};

// Per-layer tensors, relative to "layers.{i}.".
constexpr const char* kLayerSuffixes[] = {
    "self_attn.q_proj.weight",         "self_attn.k_proj.weight",       "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",         "mlp.gate_proj.weight",          "mlp.up_proj.weight",
    "mlp.down_proj.weight",            "audio_mlp.gate_proj.weight",    "audio_mlp.up_proj.weight",
    "audio_mlp.down_proj.weight",      "input_layernorm.weight",        "post_attention_layernorm.weight",
    "audio_input_layernorm.weight",    "audio_post_attention_layernorm.weight",
};

// Canonical keys outside the layers (already in transformers naming).
constexpr const char* kCanonicalGlobals[] = {
    "model.embed_tokens.weight", "model.norm.weight", "model.embed_audio_tokens.embed_audio_tokens.weight",
    "audio_lm_head.weight",      "text_lm_head.weight",
};

struct OriginalKey {
  const char* stored;
  const char* canonical;
  Part part;
};

// Original keys outside the layers, including the partial-freeze split forms.
constexpr OriginalKey kOriginalGlobals[] = {
    {"embed_tokens.weight", "model.embed_tokens.weight", Part::Whole},
    {"embed_tokens.embedding_frozen.weight", "model.embed_tokens.weight", Part::Frozen},
    {"embed_tokens.embedding_trainable.weight", "model.embed_tokens.weight", Part::Trainable},
    {"norm.weight", "model.norm.weight", Part::Whole},
    {"audio_codebook_embeddings.weight", "model.embed_audio_tokens.embed_audio_tokens.weight", Part::Whole},
    {"audio_decoder_proj.audio_lm_head.weight", "audio_lm_head.weight", Part::Whole},
    {"audio_decoder_proj.audio_lm_head.linear_frozen.weight", "audio_lm_head.weight", Part::Frozen},
    {"audio_decoder_proj.audio_lm_head.linear_trainable.weight", "audio_lm_head.weight", Part::Trainable},
    {"audio_decoder_proj.text_lm_head.weight", "text_lm_head.weight", Part::Whole},
    {"audio_decoder_proj.text_lm_head.linear_frozen.weight", "text_lm_head.weight", Part::Frozen},
    {"audio_decoder_proj.text_lm_head.linear_trainable.weight", "text_lm_head.weight", Part::Trainable},
};

// Buffers some writers save; they are recomputed (RoPE) or unused, under any prefix.
constexpr const char* kIgnoredNames[] = {"rotary_emb.inv_freq", "rotary_emb.original_inv_freq",
                                         "audio_codebook_weights"};

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_ignored(const std::string& key) {
  for (const char* name : kIgnoredNames) {
    if (key == name || ends_with(key, std::string(".") + name)) return true;
  }
  return false;
}

// A plain decimal layer index (no sign, no leading zero), so each layer has one spelling.
bool is_layer_index(const std::string& s) {
  if (s.empty() || s.size() > 6 || (s.size() > 1 && s[0] == '0')) return false;
  for (char ch : s) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

// "layers.{i}.{suffix}" with a known suffix.
bool is_layer_key(const std::string& key) {
  if (!starts_with(key, "layers.")) return false;
  const auto dot = key.find('.', 7);
  if (dot == std::string::npos || !is_layer_index(key.substr(7, dot - 7))) return false;
  const std::string suffix = key.substr(dot + 1);
  for (const char* known : kLayerSuffixes) {
    if (suffix == known) return true;
  }
  return false;
}

bool is_canonical(const std::string& key) {
  for (const char* name : kCanonicalGlobals) {
    if (key == name) return true;
  }
  return starts_with(key, "model.") && is_layer_key(key.substr(6));
}

std::optional<KeyMapping> map_key(const std::string& key) {
  if (is_ignored(key)) return KeyMapping{};
  if (is_canonical(key)) return KeyMapping{key, Part::Whole};
  for (const auto& k : kOriginalGlobals) {
    if (key == k.stored) return KeyMapping{k.canonical, k.part};
  }
  if (is_layer_key(key)) return KeyMapping{"model." + key, Part::Whole};
  return std::nullopt;
}

std::string unknown_key_message(const std::string& key) {
  return "unknown tensor key '" + key + "' (not a Higgs Audio V2 generation weight in either checkpoint format)";
}

const std::string& file_of(const io::TensorView& view) {
  static const std::string unknown = "(unknown file)";
  return view.file ? view.file->path() : unknown;
}

// The stored tensors that make up one canonical weight.
struct Slots {
  const io::TensorView* whole = nullptr;
  const io::TensorView* frozen = nullptr;
  const io::TensorView* trainable = nullptr;

  const io::TensorView*& at(Part part) {
    return part == Part::Whole ? whole : part == Part::Frozen ? frozen : trainable;
  }
};

// Two halves are concatenated along dim 0, so they must agree in dtype and trailing dims.
void check_split_parts(const std::string& canonical, const io::TensorView& frozen, const io::TensorView& trainable) {
  const bool compatible = frozen.dtype == trainable.dtype && !frozen.shape.empty() &&
                          frozen.shape.size() == trainable.shape.size() &&
                          std::equal(frozen.shape.begin() + 1, frozen.shape.end(), trainable.shape.begin() + 1);
  if (!compatible) {
    throw model_format_error(file_of(frozen), "split weight " + canonical + " has parts that cannot be joined: " +
                                                  frozen.describe() + " and " + trainable.describe());
  }
}

WeightSource resolve(const std::string& canonical, const Slots& s) {
  if (s.whole && (s.frozen || s.trainable)) {
    const io::TensorView& part = s.frozen ? *s.frozen : *s.trainable;
    throw model_format_error(file_of(*s.whole), "weight " + canonical + " is given both whole ('" + s.whole->name +
                                                    "') and split ('" + part.name + "' in " + file_of(part) + ")");
  }
  if (s.whole) return WeightSource{{*s.whole}};
  if (!s.frozen || !s.trainable) {
    const io::TensorView& have = s.frozen ? *s.frozen : *s.trainable;
    throw model_format_error(file_of(have), "split weight " + canonical + " has '" + have.name +
                                                "' but lacks its " + (s.frozen ? "trainable" : "frozen") + " part");
  }
  check_split_parts(canonical, *s.frozen, *s.trainable);
  return WeightSource{{*s.frozen, *s.trainable}};
}

}  // namespace

std::string canonical_name(const std::string& stored_key) {
  const auto mapping = map_key(stored_key);
  if (!mapping) throw HiggsError(ErrorCode::ModelFormat, unknown_key_message(stored_key));
  return mapping->canonical;
}

std::map<std::string, WeightSource> canonical_weights(const io::Checkpoint& checkpoint) {
  std::map<std::string, Slots> slots;
  for (const auto& [key, view] : checkpoint.tensors()) {
    const auto mapping = map_key(key);
    if (!mapping) throw model_format_error(file_of(view), unknown_key_message(key));
    if (mapping->canonical.empty()) continue;  // ignored buffer
    const io::TensorView*& slot = slots[mapping->canonical].at(mapping->part);
    if (slot) {
      throw model_format_error(file_of(view), "tensors '" + slot->name + "' and '" + key + "' both give weight " +
                                                  mapping->canonical);
    }
    slot = &view;
  }
  std::map<std::string, WeightSource> out;
  for (const auto& [canonical, s] : slots) out.emplace(canonical, resolve(canonical, s));
  return out;
}

std::map<std::string, std::vector<std::int64_t>> canonical_shapes(const HiggsConfig& c, bool with_text_head) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const std::int64_t audio_rows = c.num_codebooks * c.codebook_vocab;
  std::map<std::string, std::vector<std::int64_t>> shapes{
      {"model.embed_tokens.weight", {c.vocab_size, H}},
      {"model.embed_audio_tokens.embed_audio_tokens.weight", {audio_rows, H}},
      {"model.norm.weight", {H}},
      {"audio_lm_head.weight", {audio_rows, H}},
  };
  if (with_text_head) shapes["text_lm_head.weight"] = {c.vocab_size, H};
  const std::map<std::string, std::vector<std::int64_t>> per_layer{
      {"self_attn.q_proj.weight", {c.num_heads * D, H}},   {"self_attn.k_proj.weight", {c.num_kv_heads * D, H}},
      {"self_attn.v_proj.weight", {c.num_kv_heads * D, H}}, {"self_attn.o_proj.weight", {H, c.num_heads * D}},
      {"mlp.gate_proj.weight", {I, H}},                    {"mlp.up_proj.weight", {I, H}},
      {"mlp.down_proj.weight", {H, I}},                    {"audio_mlp.gate_proj.weight", {I, H}},
      {"audio_mlp.up_proj.weight", {I, H}},                {"audio_mlp.down_proj.weight", {H, I}},
      {"input_layernorm.weight", {H}},                     {"post_attention_layernorm.weight", {H}},
      {"audio_input_layernorm.weight", {H}},               {"audio_post_attention_layernorm.weight", {H}},
  };
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    for (const auto& [suffix, shape] : per_layer) shapes["model.layers." + std::to_string(i) + "." + suffix] = shape;
  }
  return shapes;
}

bool is_projection_weight(const std::string& name) {
  auto ends_with = [&](const std::string& tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends_with("_proj.weight") || ends_with("lm_head.weight");
}

}  // namespace higgs::lm
