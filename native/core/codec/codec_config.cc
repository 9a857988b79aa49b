// Parsing of the codec config.json; see codec_config.h for the field policy.
#include "codec/codec_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "errors.h"
#include "io/json_fields.h"
#include "io/posix_path.h"

namespace higgs::codec {
namespace {

using json = nlohmann::json;
using io::JsonFields;

constexpr const char* kModelType = "higgs_audio_v2_tokenizer";

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// Python's float floor division a // b for positive operands (fmod-based, as CPython does it).
double python_floor_div(double a, double b) {
  const double mod = std::fmod(a, b);
  const double div = (a - mod) / b;
  double floor_div = std::floor(div);
  if (div - floor_div > 0.5) floor_div += 1.0;
  return floor_div;
}

std::int64_t product(const std::vector<std::int64_t>& values) {
  std::int64_t p = 1;
  for (auto v : values) p *= v;
  return p;
}

void require_positive(const JsonFields& f, const std::string& name, std::int64_t value) {
  if (value <= 0) f.fail_field(name, "must be positive, got " + std::to_string(value));
}

void require_positive_list(const JsonFields& f, const std::string& name, const std::vector<std::int64_t>& values) {
  if (values.empty()) f.fail_field(name, "must not be empty");
  for (auto v : values) {
    if (v <= 0 || v > 4096) f.fail_field(name, "must hold values in 1..4096, got " + std::to_string(v));
  }
}

// The original release's config.json has n_q / D / ratios / bins and no model_type.
bool looks_like_original_config(const json& root) {
  for (const char* key : {"n_q", "D", "ratios", "bins", "semantic_techer", "n_filters"}) {
    if (root.contains(key)) return true;
  }
  return false;
}

void check_model_type(const json& root, const std::string& source) {
  const auto it = root.find("model_type");
  const std::string type = it != root.end() && it->is_string() ? it->get<std::string>() : "";
  if (type == kModelType) return;
  if (type.empty() && looks_like_original_config(root)) {
    throw model_format_error(source, "this is the original boson-ai tokenizer config (n_q/D/ratios, weights in "
                                     "model.pth), which the core does not read. " +
                                         codec_conversion_hint(directory_of(source)));
  }
  if (type == "higgs_audio_v2" || type == "higgs_audio") {
    throw model_format_error(source, "model_type '" + type + "' is the generation model, not the audio tokenizer: "
                                     "point the codec path at the higgs-audio-v2-tokenizer directory");
  }
  const std::string shown = type.empty() ? std::string("(missing)") : type;
  throw model_format_error(source, "field model_type is '" + shown + "', expected '" + kModelType + "'. " +
                                       codec_conversion_hint(directory_of(source)));
}

DacConfig parse_dac(const JsonFields& f) {
  const std::string type = f.string_or("model_type", "dac");
  if (type != "dac") f.fail_field("model_type", "is '" + type + "', expected 'dac'");
  DacConfig c;
  c.encoder_hidden_size = f.required_int("encoder_hidden_size");
  c.decoder_hidden_size = f.required_int("decoder_hidden_size");
  c.hidden_size = f.required_int("hidden_size");
  c.downsampling_ratios = f.required_int_list("downsampling_ratios");
  c.upsampling_ratios = f.required_int_list("upsampling_ratios");
  require_positive(f, "encoder_hidden_size", c.encoder_hidden_size);
  require_positive(f, "decoder_hidden_size", c.decoder_hidden_size);
  require_positive(f, "hidden_size", c.hidden_size);
  require_positive_list(f, "downsampling_ratios", c.downsampling_ratios);
  require_positive_list(f, "upsampling_ratios", c.upsampling_ratios);
  if (c.upsampling_ratios.size() >= 62 || (c.decoder_hidden_size >> c.upsampling_ratios.size()) < 1) {
    f.fail_field("decoder_hidden_size", "is too small to halve once per upsampling ratio");
  }
  if (product(c.upsampling_ratios) != product(c.downsampling_ratios)) {
    f.fail("the product of " + f.path("upsampling_ratios") + " (" + std::to_string(product(c.upsampling_ratios)) +
           ") differs from that of " + f.path("downsampling_ratios") + " (" +
           std::to_string(product(c.downsampling_ratios)) + "): decoded audio would not match the hop length");
  }
  return c;
}

HubertConfig parse_hubert(const JsonFields& f) {
  const std::string type = f.string_or("model_type", "hubert");
  if (type != "hubert") f.fail_field("model_type", "is '" + type + "', expected 'hubert'");
  HubertConfig c;
  c.hidden_size = f.required_int("hidden_size");
  c.num_hidden_layers = f.required_int("num_hidden_layers");
  c.num_attention_heads = f.required_int("num_attention_heads");
  c.intermediate_size = f.required_int("intermediate_size");
  c.hidden_act = f.string_or("hidden_act", c.hidden_act);
  c.conv_dim = f.required_int_list("conv_dim");
  c.conv_kernel = f.required_int_list("conv_kernel");
  c.conv_stride = f.required_int_list("conv_stride");
  c.conv_bias = f.bool_or("conv_bias", c.conv_bias);
  c.feat_extract_norm = f.string_or("feat_extract_norm", c.feat_extract_norm);
  c.feat_extract_activation = f.string_or("feat_extract_activation", c.feat_extract_activation);
  c.feat_proj_layer_norm = f.bool_or("feat_proj_layer_norm", c.feat_proj_layer_norm);
  c.do_stable_layer_norm = f.bool_or("do_stable_layer_norm", c.do_stable_layer_norm);
  c.num_conv_pos_embeddings = f.int_or("num_conv_pos_embeddings", c.num_conv_pos_embeddings);
  c.num_conv_pos_embedding_groups = f.int_or("num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups);
  c.conv_pos_batch_norm = f.bool_or("conv_pos_batch_norm", c.conv_pos_batch_norm);
  c.layer_norm_eps = f.number_or("layer_norm_eps", c.layer_norm_eps);

  for (const char* name : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                           "num_conv_pos_embeddings", "num_conv_pos_embedding_groups"}) {
    require_positive(f, name, f.int_or(name, 1));
  }
  require_positive_list(f, "conv_dim", c.conv_dim);
  require_positive_list(f, "conv_kernel", c.conv_kernel);
  require_positive_list(f, "conv_stride", c.conv_stride);
  if (c.conv_kernel.size() != c.conv_dim.size() || c.conv_stride.size() != c.conv_dim.size()) {
    f.fail(f.path("conv_dim") + ", conv_kernel and conv_stride must have the same length");
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    f.fail_field("hidden_size", "must be divisible by num_attention_heads");
  }
  if (c.hidden_size % c.num_conv_pos_embedding_groups != 0) {
    f.fail_field("hidden_size", "must be divisible by num_conv_pos_embedding_groups");
  }
  return c;
}

void derive(const JsonFields& f, CodecConfig& c) {
  c.hop_length = product(c.acoustic.downsampling_ratios);
  c.frame_rate = static_cast<std::int64_t>(std::ceil(static_cast<double>(c.sample_rate) / c.hop_length));
  c.codebook_nbits = 0;
  while ((std::int64_t{1} << c.codebook_nbits) < c.codebook_size) ++c.codebook_nbits;
  if (c.frame_rate * c.codebook_nbits <= 0) f.fail_field("codebook_size", "must be at least 2");
  const double quantizers = python_floor_div(1000.0 * c.target_bandwidths.back(),
                                             static_cast<double>(c.frame_rate * c.codebook_nbits));
  if (!(quantizers >= 1.0 && quantizers <= 1024.0)) {
    f.fail_field("target_bandwidths", "gives " + std::to_string(quantizers) +
                                          " quantizers (1000 * last bandwidth // (frame_rate * codebook bits))");
  }
  c.num_quantizers = static_cast<std::int64_t>(quantizers);
  c.hidden_size = c.acoustic.hidden_size + c.semantic.hidden_size;
  const double semantic_factor = static_cast<double>(c.hop_length) /
                                 (static_cast<double>(c.sample_rate) / c.semantic_sample_rate) / c.downsample_factor;
  c.semantic_downsample_factor = static_cast<std::int64_t>(semantic_factor);  // Python int(): toward zero
  if (c.semantic_downsample_factor < 1) {
    f.fail("hop_length, sample_rate, semantic_sample_rate and downsample_factor give a semantic downsample "
           "factor below 1");
  }
}

}  // namespace

std::string codec_conversion_hint(const std::string& codec_dir) {
  return "Convert the original release once with scripts/convert_codec.py (see python3 scripts/convert_codec.py "
         "--help; input: the directory holding its config.json and model.pth, here " +
         codec_dir +
         ") into a directory with config.json (model_type higgs_audio_v2_tokenizer) and model.safetensors, "
         "and load that directory instead.";
}

CodecConfig parse_codec_config_json(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw model_format_error(source, std::string("invalid JSON: ") + e.what());
  }
  if (!root.is_object()) throw model_format_error(source, "config.json must hold a JSON object");
  check_model_type(root, source);

  const JsonFields f(root, "", source, /*whole_floats_are_ints=*/true);
  CodecConfig c;
  c.source = source;
  c.sample_rate = f.int_or("sample_rate", c.sample_rate);
  c.semantic_sample_rate = f.int_or("semantic_sample_rate", c.semantic_sample_rate);
  c.downsample_factor = f.int_or("downsample_factor", c.downsample_factor);
  c.codebook_size = f.required_int("codebook_size");
  c.target_bandwidths = f.required_number_list("target_bandwidths");
  if (c.target_bandwidths.empty()) f.fail_field("target_bandwidths", "must not be empty");
  c.kernel_size = f.int_or("kernel_size", c.kernel_size);
  c.unit_kernel_size = f.int_or("unit_kernel_size", c.unit_kernel_size);
  c.channel_ratios = f.number_list_or("channel_ratios", c.channel_ratios);
  c.strides = f.int_list_or("strides", c.strides);
  c.block_dilations = f.int_list_or("block_dilations", c.block_dilations);
  c.acoustic = parse_dac(f.required_object("acoustic_model_config"));
  c.semantic = parse_hubert(f.required_object("semantic_model_config"));
  // transformers: codebook_dim None means acoustic + semantic hidden size.
  c.codebook_dim = f.int_or("codebook_dim", c.acoustic.hidden_size + c.semantic.hidden_size);

  for (const char* name : {"sample_rate", "semantic_sample_rate", "downsample_factor", "codebook_size",
                           "codebook_dim", "kernel_size", "unit_kernel_size"}) {
    require_positive(f, name, f.int_or(name, 1));
  }
  if (c.strides.size() != c.channel_ratios.size() || c.block_dilations.size() != c.channel_ratios.size()) {
    f.fail("channel_ratios, strides and block_dilations must have the same length");
  }
  derive(f, c);
  return c;
}

CodecConfig load_codec_config(const std::string& codec_dir) {
  if (!io::is_directory(codec_dir)) throw model_format_error(codec_dir, "codec directory does not exist");
  const std::string path = io::join_path(codec_dir, "config.json");
  if (!io::is_regular_file(path)) {
    if (io::is_regular_file(io::join_path(codec_dir, "model.pth"))) {
      throw model_format_error(codec_dir, "holds model.pth but no config.json: the original tokenizer release "
                                          "is not read directly. " + codec_conversion_hint(codec_dir));
    }
    throw model_format_error(path, "missing: a codec directory holds config.json and model.safetensors");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) throw model_format_error(path, "cannot be read");
  return parse_codec_config_json(text.str(), path);
}

}  // namespace higgs::codec
