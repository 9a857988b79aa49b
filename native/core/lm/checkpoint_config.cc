// The LM checkpoint's config.json parsing, for both checkpoint formats (fields read through
// io::JsonFields, as the codec's config is).
//
// Defaults: fields that decide tensor shapes (vocab/hidden/intermediate sizes, layer and head
// counts, codebook count and size) are required. num_key_value_heads and head_dim are derived
// as Llama derives them. Other fields fall back to the defaults of the Python config class that
// wrote the file (LlamaConfig inside the original format, HiggsAudioV2Config for transformers).
#include "lm/checkpoint_config.h"

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "errors.h"
#include "io/json_fields.h"

namespace higgs::lm {

namespace {

using json = nlohmann::json;
using io::JsonFields;

// ---- Llama backbone (shared by both formats) ----

void refuse_unless(const JsonFields& f, bool ok, const std::string& name, const std::string& why) {
  if (!ok) f.fail(f.path(name) + " " + why);
}

void check_llama_features(const JsonFields& f) {
  const std::string act = f.string_or("hidden_act", "silu");
  refuse_unless(f, act == "silu", "hidden_act", "is '" + act + "': only silu is supported");
  refuse_unless(f, !f.bool_or("attention_bias", false), "attention_bias", "is true: biases are not supported");
  refuse_unless(f, !f.bool_or("mlp_bias", false), "mlp_bias", "is true: biases are not supported");
}

void parse_llama(const JsonFields& f, double default_eps, HiggsConfig& c) {
  check_llama_features(f);
  c.vocab_size = f.required_int("vocab_size");
  c.hidden_size = f.required_int("hidden_size");
  c.intermediate_size = f.required_int("intermediate_size");
  c.num_layers = f.required_int("num_hidden_layers");
  c.num_heads = f.required_int("num_attention_heads");
  c.num_kv_heads = f.int_or("num_key_value_heads", c.num_heads);
  if (!f.has("head_dim") && c.num_heads > 0 && c.hidden_size % c.num_heads != 0) {
    f.fail(f.path("hidden_size") + " is not divisible by num_attention_heads and head_dim is not given");
  }
  c.head_dim = f.int_or("head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  c.rms_norm_eps = f.number_or("rms_norm_eps", default_eps);
  c.max_position_embeddings = f.int_or("max_position_embeddings", 2048);
}

// rope_scaling / rope_parameters: {rope_type (or the older "type"), factor, ...}.
void parse_rope_dict(const JsonFields& r, RopeConfig& rope) {
  const std::string type = r.has("rope_type") ? r.string_or("rope_type", "") : r.string_or("type", "default");
  if (type == "default") {
    rope.llama3 = false;
    return;
  }
  if (type != "llama3") r.fail(r.path("rope_type") + " '" + type + "' is not supported (only llama3 and default)");
  rope.llama3 = true;
  rope.factor = r.required_number("factor");
  rope.low_freq_factor = r.required_number("low_freq_factor");
  rope.high_freq_factor = r.required_number("high_freq_factor");
  rope.original_max_position_embeddings = r.required_number("original_max_position_embeddings");
}

// Older layout: rope_theta plus an optional rope_scaling object next to it.
void parse_rope_legacy(const JsonFields& f, double default_theta, RopeConfig& rope) {
  rope.theta = f.number_or("rope_theta", default_theta);
  rope.llama3 = false;
  if (const auto scaling = f.object("rope_scaling")) parse_rope_dict(*scaling, rope);
}

// HiggsAudioV2Config's rope_parameters default, used when a config names no RoPE at all.
RopeConfig transformers_default_rope() {
  RopeConfig rope;
  rope.theta = 500000.0;
  rope.llama3 = true;
  rope.factor = 32.0;
  rope.low_freq_factor = 0.125;
  rope.high_freq_factor = 0.5;
  rope.original_max_position_embeddings = 1024.0;
  return rope;
}

void parse_transformers_rope(const JsonFields& f, RopeConfig& rope) {
  if (const auto params = f.object("rope_parameters")) {
    const JsonFields& r = *params;
    parse_rope_dict(r, rope);
    if (r.has("rope_theta")) {
      rope.theta = r.required_number("rope_theta");
    } else if (f.has("rope_theta")) {
      rope.theta = f.required_number("rope_theta");
    } else {
      r.missing("rope_theta");
    }
  } else if (f.has("rope_theta") || f.has("rope_scaling")) {
    parse_rope_legacy(f, 500000.0, rope);
  } else {
    rope = transformers_default_rope();
  }
}

// ---- original format (model_type "higgs_audio") ----

void check_dual_ffn_layers(const JsonFields& top, std::int64_t num_layers) {
  const json* layers = top.find("audio_dual_ffn_layers");
  if (!layers) top.missing("audio_dual_ffn_layers");
  if (!layers->is_array()) top.fail_field("audio_dual_ffn_layers", "must be a list of layer indices, got " + layers->dump());
  std::set<std::int64_t> seen;
  for (const auto& v : *layers) {
    const std::int64_t i = top.to_int("audio_dual_ffn_layers", v);
    if (i < 0 || i >= num_layers) {
      top.fail("audio_dual_ffn_layers has layer " + std::to_string(i) + ", outside 0.." +
               std::to_string(num_layers - 1));
    }
    seen.insert(i);
  }
  for (std::int64_t i = 0; i < num_layers; ++i) {
    if (seen.count(i) == 0) {
      top.fail("audio_dual_ffn_layers must list every layer 0.." + std::to_string(num_layers - 1) +
               " (layer " + std::to_string(i) + " is missing): fast-forward layers are not supported");
    }
  }
}

void check_original_features(const JsonFields& top, std::int64_t num_layers) {
  if (!top.has("audio_adapter_type")) top.missing("audio_adapter_type");
  const std::string adapter = top.string_or("audio_adapter_type", "");
  refuse_unless(top, adapter == "dual_ffn" || adapter == "dual_ffn_fast_forward", "audio_adapter_type",
                "'" + adapter + "' is not supported (only dual_ffn / dual_ffn_fast_forward)");
  check_dual_ffn_layers(top, num_layers);
  refuse_unless(top, !top.bool_or("use_audio_out_self_attention", false), "use_audio_out_self_attention",
                "is true: audio self-attention is not supported");
  refuse_unless(top, top.int_or("audio_decoder_proj_num_layers", 0) == 0, "audio_decoder_proj_num_layers",
                "is not 0: decoder projection layers are not supported");
  refuse_unless(top, !top.bool_or("use_audio_out_embed_projector", false), "use_audio_out_embed_projector",
                "is true: the audio embedding projector is not supported");
  refuse_unless(top, !top.bool_or("audio_embed_avg", false), "audio_embed_avg",
                "is true: averaged audio embeddings are not supported (only summed)");
  refuse_unless(top, !top.bool_or("use_rq_transformer", false), "use_rq_transformer",
                "is true: the RQ-transformer head is not supported");
  // The class default of skip_audio_tower is false, but absent is accepted: the core builds no
  // audio tower, and a checkpoint that carried its weights would be refused by the key mapping.
  refuse_unless(top, top.bool_or("skip_audio_tower", true), "skip_audio_tower",
                "is false: the Whisper audio tower is not supported");
  // Same reasoning: the class default is false, yet every released config and both generation
  // loops use the delay pattern; only an explicit false is refused.
  refuse_unless(top, top.bool_or("use_delay_pattern", true), "use_delay_pattern",
                "is false: only the delay pattern is supported");
  // Reference audio reaches the model as codebook tokens (the voice prompt); the Whisper
  // features path needs the audio tower refused above.
  refuse_unless(top, top.bool_or("encode_audio_in_tokens", true), "encode_audio_in_tokens",
                "is false: reference audio is fed as audio tokens only");
  refuse_unless(top, !top.bool_or("encode_whisper_embed", false), "encode_whisper_embed",
                "is true: Whisper features need the audio tower, which is not supported");
}

// The DualFFN's audio MLP is read with the text MLP's shapes, and its output joins the residual
// stream: the audio FFN sizes, when given, must be the backbone's.
void check_audio_ffn_sizes(const JsonFields& top, const HiggsConfig& c) {
  for (const auto& [name, want] : {std::pair<const char*, std::int64_t>{"audio_ffn_hidden_size", c.hidden_size},
                                   {"audio_ffn_intermediate_size", c.intermediate_size},
                                   {"hidden_size", c.hidden_size}}) {
    const std::int64_t got = top.int_or(name, want);
    refuse_unless(top, got == want, name,
                  "is " + std::to_string(got) + ", not the text model's " + std::to_string(want) +
                      ": an audio FFN of another size is not supported");
  }
}

void parse_original(const json& root, const std::string& source, HiggsConfig& c) {
  const JsonFields top(root, "", source);
  const JsonFields t = top.required_object("text_config");
  const std::string type = t.string_or("model_type", "llama");
  refuse_unless(t, type == "llama", "model_type", "is '" + type + "': only a llama text backbone is supported");
  parse_llama(t, 1e-6, c);           // LlamaConfig's default eps
  parse_rope_legacy(t, 10000.0, c.rope);  // LlamaConfig's default theta
  check_original_features(top, c.num_layers);
  check_audio_ffn_sizes(top, c);

  c.num_codebooks = top.required_int("audio_num_codebooks");
  c.codebook_vocab = top.required_int("audio_codebook_size") + 2;  // + stream bos/eos
  c.audio_stream_bos_id = top.int_or("audio_stream_bos_id", 1024);
  c.audio_stream_eos_id = top.int_or("audio_stream_eos_id", 1025);
  c.audio_in_token_id = top.int_or("audio_in_token_idx", c.audio_in_token_id);
  c.audio_out_token_id = top.int_or("audio_out_token_idx", c.audio_out_token_id);
  c.audio_out_bos_token_id = top.int_or("audio_out_bos_token_id", c.audio_out_bos_token_id);
  c.audio_eos_token_id = top.int_or("audio_eos_token_id", c.audio_eos_token_id);
  c.pad_token_id = top.int_or("pad_token_id", c.pad_token_id);
}

// ---- transformers format (model_type "higgs_audio_v2") ----

// eos_token_id may be one id or a list; <|eot_id|> (128009) is the one the TTS turn ends with.
std::int64_t parse_eot(const JsonFields& f, std::int64_t def) {
  const json* v = f.find("eos_token_id");
  if (!v) return def;
  if (!v->is_array()) return f.to_int("eos_token_id", *v);
  std::vector<std::int64_t> ids;
  for (const auto& item : *v) ids.push_back(f.to_int("eos_token_id", item));
  for (auto id : ids) {
    if (id == 128009) return id;
  }
  return ids.empty() ? def : ids.front();
}

void parse_transformers(const json& root, const std::string& source, HiggsConfig& c) {
  const JsonFields f(root, "", source);
  parse_llama(f, 1e-5, c);
  parse_transformers_rope(f, c.rope);
  c.num_codebooks = f.required_int("num_codebooks");
  c.codebook_vocab = f.required_int("codebook_size");  // already counts stream bos/eos here
  c.audio_stream_bos_id = f.int_or("audio_stream_bos_id", 1024);
  c.audio_stream_eos_id = f.int_or("audio_stream_eos_id", 1025);
  c.audio_out_token_id = f.int_or("audio_token_id", c.audio_out_token_id);
  c.audio_out_bos_token_id = f.int_or("audio_bos_token_id", c.audio_out_bos_token_id);
  c.pad_token_id = f.int_or("pad_token_id", c.pad_token_id);
  c.eot_token_id = parse_eot(f, c.eot_token_id);
}

// ---- sanity checks on the normalised values ----

void require(const HiggsConfig& c, bool ok, const std::string& what) {
  if (!ok) throw model_format_error(c.source, what);
}

void check_positive(const HiggsConfig& c, const char* name, std::int64_t v) {
  require(c, v > 0, std::string(name) + " must be positive, got " + std::to_string(v));
}

void check_token_in_vocab(const HiggsConfig& c, const char* name, std::int64_t id) {
  require(c, id >= 0 && id < c.vocab_size,
          std::string(name) + " " + std::to_string(id) + " is outside the vocabulary of " +
              std::to_string(c.vocab_size));
}

void check_sanity(const HiggsConfig& c) {
  check_positive(c, "vocab_size", c.vocab_size);
  check_positive(c, "hidden_size", c.hidden_size);
  check_positive(c, "intermediate_size", c.intermediate_size);
  check_positive(c, "num_hidden_layers", c.num_layers);
  check_positive(c, "num_attention_heads", c.num_heads);
  check_positive(c, "num_key_value_heads", c.num_kv_heads);
  check_positive(c, "head_dim", c.head_dim);
  check_positive(c, "max_position_embeddings", c.max_position_embeddings);
  require(c, c.num_heads % c.num_kv_heads == 0,
          "num_attention_heads " + std::to_string(c.num_heads) + " is not divisible by num_key_value_heads " +
              std::to_string(c.num_kv_heads));
  require(c, c.head_dim % 2 == 0, "head_dim must be even for RoPE, got " + std::to_string(c.head_dim));
  require(c, c.rms_norm_eps > 0, "rms_norm_eps must be positive");
  require(c, c.rope.theta > 0, "rope_theta must be positive");
  if (c.rope.llama3) {
    require(c, c.rope.factor > 0 && c.rope.low_freq_factor > 0 && c.rope.original_max_position_embeddings > 0,
            "llama3 rope factor, low_freq_factor and original_max_position_embeddings must be positive");
    require(c, c.rope.high_freq_factor > c.rope.low_freq_factor,
            "llama3 rope high_freq_factor must be greater than low_freq_factor");
  }
  check_positive(c, "number of codebooks", c.num_codebooks);
  check_positive(c, "codebook size", c.codebook_vocab);
  for (auto [name, id] : {std::pair<const char*, std::int64_t>{"audio_stream_bos_id", c.audio_stream_bos_id},
                          {"audio_stream_eos_id", c.audio_stream_eos_id}}) {
    require(c, id >= 0 && id < c.codebook_vocab,
            std::string(name) + " " + std::to_string(id) + " is outside the codebook vocabulary of " +
                std::to_string(c.codebook_vocab));
  }
  require(c, c.audio_stream_bos_id != c.audio_stream_eos_id, "audio_stream_bos_id equals audio_stream_eos_id");
  check_token_in_vocab(c, "audio in token id", c.audio_in_token_id);
  check_token_in_vocab(c, "audio out token id", c.audio_out_token_id);
  check_token_in_vocab(c, "audio bos token id", c.audio_bos_token_id);
  check_token_in_vocab(c, "audio out bos token id", c.audio_out_bos_token_id);
  check_token_in_vocab(c, "audio eos token id", c.audio_eos_token_id);
  check_token_in_vocab(c, "pad_token_id", c.pad_token_id);
  check_token_in_vocab(c, "eos (eot) token id", c.eot_token_id);
}

}  // namespace

HiggsConfig parse_config_json(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw model_format_error(source, std::string("config is not valid JSON (") + e.what() + ")");
  }
  if (!root.is_object()) throw model_format_error(source, "config is not a JSON object");
  const JsonFields top(root, "", source);
  if (!top.has("model_type")) top.missing("model_type");
  const std::string type = top.string_or("model_type", "");

  HiggsConfig c;
  c.source = source;
  if (type == "higgs_audio") {
    c.format = CheckpointFormat::Original;
    parse_original(root, source, c);
  } else if (type == "higgs_audio_v2") {
    c.format = CheckpointFormat::Transformers;
    parse_transformers(root, source, c);
  } else {
    top.fail("model_type '" + type + "' is not a Higgs Audio V2 model (expected higgs_audio or higgs_audio_v2)");
  }
  check_sanity(c);
  return c;
}

HiggsConfig load_config(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_format_error(path, "cannot read config.json (is " + model_dir + " a model directory?)");
  std::ostringstream os;
  os << in.rdbuf();
  return parse_config_json(os.str(), path);
}

}  // namespace higgs::lm
