#include "codec/codec_encoder_load.h"

#include "errors.h"

namespace higgs::codec {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Fetches "<prefix>name" with a shape check.
struct Fetch {
  const CodecWeights& w;
  std::string prefix;
  at::Tensor operator()(const std::string& name, at::IntArrayRef shape) const { return w.get(prefix + name, shape); }
};

HubertWeights load_hubert(const HubertParams& p, const CodecWeights& w) {
  const Fetch get{w, "semantic_model."};
  const std::int64_t h = p.hidden_size, inter = p.intermediate_size, conv_out = p.conv_dim.back();
  HubertWeights out;
  for (size_t i = 0; i < p.conv_dim.size(); ++i) {
    const std::string c = "feature_extractor.conv_layers." + std::to_string(i) + ".";
    const std::int64_t in = i == 0 ? 1 : p.conv_dim[i - 1];
    out.conv_w.push_back(get(c + "conv.weight", {p.conv_dim[i], in, p.conv_kernel[i]}));
    out.conv_b.push_back(p.conv_bias ? get(c + "conv.bias", {p.conv_dim[i]}) : at::Tensor());
  }
  // transformers names conv 0's GroupNorm "layer_norm".
  out.group_norm_w = get("feature_extractor.conv_layers.0.layer_norm.weight", {p.conv_dim[0]});
  out.group_norm_b = get("feature_extractor.conv_layers.0.layer_norm.bias", {p.conv_dim[0]});
  if (p.feat_proj_layer_norm) {
    out.proj_norm_w = get("feature_projection.layer_norm.weight", {conv_out});
    out.proj_norm_b = get("feature_projection.layer_norm.bias", {conv_out});
  }
  out.proj_w = get("feature_projection.projection.weight", {h, conv_out});
  out.proj_b = get("feature_projection.projection.bias", {h});
  // Folded from parametrizations.weight.original0/1 (or weight_g/v) by CodecWeights.
  out.pos_conv_w = get("encoder.pos_conv_embed.conv.weight", {h, h / p.pos_conv_groups, p.pos_conv_kernel});
  out.pos_conv_b = get("encoder.pos_conv_embed.conv.bias", {h});
  out.encoder_norm_w = get("encoder.layer_norm.weight", {h});
  out.encoder_norm_b = get("encoder.layer_norm.bias", {h});
  for (std::int64_t i = 0; i < p.num_layers; ++i) {
    const std::string l = "encoder.layers." + std::to_string(i) + ".";
    HubertLayerWeights lw;
    lw.q_w = get(l + "attention.q_proj.weight", {h, h});
    lw.q_b = get(l + "attention.q_proj.bias", {h});
    lw.k_w = get(l + "attention.k_proj.weight", {h, h});
    lw.k_b = get(l + "attention.k_proj.bias", {h});
    lw.v_w = get(l + "attention.v_proj.weight", {h, h});
    lw.v_b = get(l + "attention.v_proj.bias", {h});
    lw.out_w = get(l + "attention.out_proj.weight", {h, h});
    lw.out_b = get(l + "attention.out_proj.bias", {h});
    lw.attn_norm_w = get(l + "layer_norm.weight", {h});
    lw.attn_norm_b = get(l + "layer_norm.bias", {h});
    lw.ff_in_w = get(l + "feed_forward.intermediate_dense.weight", {inter, h});
    lw.ff_in_b = get(l + "feed_forward.intermediate_dense.bias", {inter});
    lw.ff_out_w = get(l + "feed_forward.output_dense.weight", {h, inter});
    lw.ff_out_b = get(l + "feed_forward.output_dense.bias", {h});
    lw.final_norm_w = get(l + "final_layer_norm.weight", {h});
    lw.final_norm_b = get(l + "final_layer_norm.bias", {h});
    out.layers.push_back(std::move(lw));
  }
  return out;
}

SemanticEncoderWeights load_semantic(const CodecConfig& c, const CodecWeights& w) {
  const Fetch get{w, "encoder_semantic."};
  const std::int64_t hidden = c.semantic.hidden_size;
  SemanticEncoderWeights out;
  out.conv_w = get("conv.weight", {hidden, hidden, c.kernel_size});
  out.conv_padding = c.kernel_size / 2;
  std::int64_t in = hidden;
  for (size_t i = 0; i < c.strides.size(); ++i) {
    const std::string b = "conv_blocks." + std::to_string(i) + ".";
    const auto out_ch = static_cast<std::int64_t>(static_cast<double>(hidden) * c.channel_ratios[i]);
    SemanticEncoderBlock block;
    for (size_t j = 0; j < c.block_dilations.size(); ++j) {
      const std::string u = b + "res_units." + std::to_string(j) + ".";
      SemanticResUnit unit;
      unit.dilation = c.block_dilations[j];
      unit.padding = ((c.unit_kernel_size - 1) / 2) * unit.dilation;
      unit.conv1_w = get(u + "conv1.weight", {in, in, c.unit_kernel_size});
      unit.conv2_w = get(u + "conv2.weight", {in, in, 1});
      block.res_units.push_back(std::move(unit));
    }
    block.stride = c.strides[i];
    const std::int64_t kernel = block.stride == 1 ? 3 : 2 * block.stride;  // as transformers builds it
    block.padding = (kernel - 1) / 2;
    block.conv_w = get(b + "conv.weight", {out_ch, in, kernel});
    block.conv_b = get(b + "conv.bias", {out_ch});
    out.blocks.push_back(std::move(block));
    in = out_ch;
  }
  return out;
}

DacResUnit load_res_unit(const Fetch& get, const std::string& u, std::int64_t ch, std::int64_t dilation) {
  DacResUnit unit;
  unit.dilation = dilation;
  unit.snake1_alpha = get(u + "snake1.alpha", {1, ch, 1});
  unit.conv1_w = get(u + "conv1.weight", {ch, ch, 7});
  unit.conv1_b = get(u + "conv1.bias", {ch});
  unit.snake2_alpha = get(u + "snake2.alpha", {1, ch, 1});
  unit.conv2_w = get(u + "conv2.weight", {ch, ch, 1});
  unit.conv2_b = get(u + "conv2.bias", {ch});
  return unit;
}

AcousticEncoderWeights load_acoustic(const DacConfig& c, const CodecWeights& w) {
  const Fetch get{w, "acoustic_encoder."};
  AcousticEncoderWeights out;
  std::int64_t ch = c.encoder_hidden_size;
  out.conv1_w = get("conv1.weight", {ch, 1, 7});
  out.conv1_b = get("conv1.bias", {ch});
  for (size_t i = 0; i < c.downsampling_ratios.size(); ++i) {
    const std::string b = "block." + std::to_string(i) + ".";
    const std::int64_t s = c.downsampling_ratios[i];
    DacEncoderBlock block;
    const std::int64_t dilations[] = {1, 3, 9};
    for (int j = 0; j < 3; ++j) {
      block.res_units.push_back(load_res_unit(get, b + "res_unit" + std::to_string(j + 1) + ".", ch, dilations[j]));
    }
    block.stride = s;
    block.snake_alpha = get(b + "snake1.alpha", {1, ch, 1});
    block.conv_w = get(b + "conv1.weight", {2 * ch, ch, 2 * s});
    block.conv_b = get(b + "conv1.bias", {2 * ch});
    out.blocks.push_back(std::move(block));
    ch *= 2;
  }
  out.snake_alpha = get("snake1.alpha", {1, ch, 1});
  out.conv2_w = get("conv2.weight", {c.hidden_size, ch, 3});
  out.conv2_b = get("conv2.bias", {c.hidden_size});
  return out;
}

std::vector<RvqLayer> load_quantizers(const CodecConfig& c, const CodecWeights& w) {
  check_num_quantizers(c, w);
  const std::int64_t d = c.hidden_size, cd = c.codebook_dim;
  std::vector<RvqLayer> out;
  for (std::int64_t q = 0; q < c.num_quantizers; ++q) {
    const Fetch get{w, "quantizer.quantizers." + std::to_string(q) + "."};
    RvqLayer layer;
    layer.project_in_w = get("project_in.weight", {cd, d});
    layer.project_in_b = get("project_in.bias", {cd});
    layer.project_out_w = get("project_out.weight", {d, cd});
    layer.project_out_b = get("project_out.bias", {d});
    layer.embed = get("codebook.embed", {c.codebook_size, cd});
    out.push_back(std::move(layer));
  }
  return out;
}

}  // namespace

bool is_encoder_tensor(const std::string& name) {
  for (const char* prefix : {"semantic_model.", "encoder_semantic.", "acoustic_encoder.", "fc."}) {
    if (starts_with(name, prefix)) return true;
  }
  if (!starts_with(name, "quantizer.quantizers.")) return false;
  return ends_with(name, ".codebook.embed") || ends_with(name, ".project_in.weight") ||
         ends_with(name, ".project_in.bias") || ends_with(name, ".project_out.weight") ||
         ends_with(name, ".project_out.bias");
}

CodecEncoderParams encoder_params_from_config(const CodecConfig& config) {
  const auto& s = config.semantic;
  auto refuse = [&](const std::string& what) {
    throw model_format_error(config.source, "semantic_model_config: " + what + " is not supported by the encoder");
  };
  if (s.feat_extract_norm != "group") refuse("feat_extract_norm '" + s.feat_extract_norm + "'");
  if (s.do_stable_layer_norm) refuse("do_stable_layer_norm true");
  if (s.conv_pos_batch_norm) refuse("conv_pos_batch_norm true");
  if (s.hidden_act != "gelu") refuse("hidden_act '" + s.hidden_act + "'");
  if (s.feat_extract_activation != "gelu") refuse("feat_extract_activation '" + s.feat_extract_activation + "'");
  if (!config.channel_ratios.empty() && config.channel_ratios.back() != 1.0) {
    throw model_format_error(config.source, "channel_ratios must end with 1 (the semantic adapter output is "
                                            "concatenated with the acoustic latent into hidden_size channels)");
  }

  CodecEncoderParams p;
  p.sample_rate = config.sample_rate;
  p.semantic_sample_rate = config.semantic_sample_rate;
  p.downsampling_ratios = config.acoustic.downsampling_ratios;
  p.semantic_downsample_factor = config.semantic_downsample_factor;
  auto& h = p.hubert;
  h.conv_dim = s.conv_dim;
  h.conv_kernel = s.conv_kernel;
  h.conv_stride = s.conv_stride;
  h.conv_bias = s.conv_bias;
  h.feat_proj_layer_norm = s.feat_proj_layer_norm;
  h.hidden_size = s.hidden_size;
  h.num_layers = s.num_hidden_layers;
  h.num_heads = s.num_attention_heads;
  h.intermediate_size = s.intermediate_size;
  h.pos_conv_kernel = s.num_conv_pos_embeddings;
  h.pos_conv_groups = s.num_conv_pos_embedding_groups;
  h.layer_norm_eps = s.layer_norm_eps;
  return p;
}

CodecEncoderWeights encoder_weights_from(const CodecConfig& config, const CodecWeights& weights) {
  const auto params = encoder_params_from_config(config);
  CodecEncoderWeights w;
  w.hubert = load_hubert(params.hubert, weights);
  w.semantic = load_semantic(config, weights);
  w.acoustic = load_acoustic(config.acoustic, weights);
  w.fc_w = weights.get("fc.weight", {config.hidden_size, config.hidden_size});
  w.fc_b = weights.get("fc.bias", {config.hidden_size});
  w.quantizers = load_quantizers(config, weights);
  return w;
}

CodecEncoder make_codec_encoder(const CodecConfig& config, const CodecWeights& weights,
                                const at::TensorOptions& options) {
  return CodecEncoder(encoder_params_from_config(config), encoder_weights_from(config, weights), options);
}

CodecEncoder load_codec_encoder(const std::string& codec_dir, const at::TensorOptions& options) {
  const auto config = load_codec_config(codec_dir);
  const auto weights = CodecWeights::load(codec_dir, options.dtype(at::kFloat), is_encoder_tensor);
  return make_codec_encoder(config, weights, options);
}

}  // namespace higgs::codec
