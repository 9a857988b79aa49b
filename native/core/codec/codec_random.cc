#include "codec/codec_random.h"

#include <cmath>
#include <map>
#include <vector>

namespace higgs::codec {

std::string higgs_v2_codec_config_json() {
  // Values of bosonai/higgs-audio-v2-tokenizer (transformers HiggsAudioV2TokenizerConfig); the
  // semantic model is HubertConfig's defaults (HuBERT base). Only the decode side is used here,
  // but the whole config is kept so that it parses exactly like the checkpoint's.
  return R"({
  "model_type": "higgs_audio_v2_tokenizer",
  "architectures": ["HiggsAudioV2TokenizerModel"],
  "sample_rate": 24000,
  "semantic_sample_rate": 16000,
  "downsample_factor": 320,
  "codebook_size": 1024,
  "codebook_dim": 64,
  "target_bandwidths": [0.5, 1, 1.5, 2],
  "kernel_size": 3,
  "unit_kernel_size": 3,
  "channel_ratios": [1, 1],
  "strides": [1, 1],
  "block_dilations": [1, 1],
  "acoustic_model_config": {
    "model_type": "dac",
    "encoder_hidden_size": 64,
    "decoder_hidden_size": 1024,
    "hidden_size": 256,
    "downsampling_ratios": [8, 5, 4, 2, 3],
    "upsampling_ratios": [8, 5, 4, 2, 3],
    "sampling_rate": 24000,
    "hop_length": 960
  },
  "semantic_model_config": {
    "model_type": "hubert",
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "conv_dim": [512, 512, 512, 512, 512, 512, 512],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": false,
    "feat_extract_norm": "group",
    "feat_extract_activation": "gelu",
    "feat_proj_layer_norm": true,
    "do_stable_layer_norm": false,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "conv_pos_batch_norm": false,
    "layer_norm_eps": 1e-5,
    "mask_time_prob": 0.0
  }
})";
}

CodecConfig higgs_v2_codec_config() {
  return parse_codec_config_json(higgs_v2_codec_config_json(), "builtin:higgs-audio-v2-tokenizer");
}

namespace {

// Draws every tensor in a fixed order from the seeded default generator of the device.
class RandomTensors {
 public:
  explicit RandomTensors(const at::TensorOptions& options) : options_(options) {}

  void normal(const std::string& name, std::vector<std::int64_t> shape, double std, double mean = 0) {
    tensors_[name] = at::randn(shape, options_).mul_(std).add_(mean);
  }
  // Snake alpha [1, C, 1]: positive, near 1 (the trained values spread around that).
  void alpha(const std::string& name, std::int64_t channels) {
    tensors_[name] = at::randn({1, channels, 1}, options_).mul_(0.1).add_(1.0).abs_().clamp_min_(0.2);
  }
  // Conv weight [out, in, k] ~ N(0, gain^2 / fan_in) with fan_in = in * k / stride, bias small.
  void conv(const std::string& prefix, std::vector<std::int64_t> shape, double fan_in, std::int64_t bias_size,
            double gain = 1.0) {
    normal(prefix + ".weight", std::move(shape), gain / std::sqrt(fan_in));
    normal(prefix + ".bias", {bias_size}, 0.01);
  }

  std::map<std::string, at::Tensor> take() { return std::move(tensors_); }

 private:
  at::TensorOptions options_;
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace

CodecWeights random_decoder_weights(const CodecConfig& config, std::uint64_t seed, const at::TensorOptions& options) {
  const at::TensorOptions fp32 = at::TensorOptions().dtype(at::kFloat).device(options.device());
  at::manual_seed(seed);
  RandomTensors r(fp32);
  const std::int64_t K = config.num_quantizers, D = config.codebook_dim, H = config.hidden_size;
  const auto dK = static_cast<double>(K);
  for (std::int64_t q = 0; q < K; ++q) {
    const std::string p = "quantizer.quantizers." + std::to_string(q) + ".";
    r.normal(p + "codebook.embed", {config.codebook_size, D}, 1.0);
    // The sum over K codebooks stays ~unit variance.
    r.normal(p + "project_out.weight", {H, D}, 1.0 / std::sqrt(static_cast<double>(D) * dK));
    r.normal(p + "project_out.bias", {H}, 0.01);
  }
  const DacConfig& dac = config.acoustic;
  r.normal("fc2.weight", {dac.hidden_size, H}, 1.0 / std::sqrt(static_cast<double>(H)));
  r.normal("fc2.bias", {dac.hidden_size}, 0.01);

  const std::string p = "acoustic_decoder.";
  const std::int64_t C = dac.decoder_hidden_size;
  r.conv(p + "conv1", {C, dac.hidden_size, 7}, static_cast<double>(dac.hidden_size) * 7, C);
  for (size_t i = 0; i < dac.upsampling_ratios.size(); ++i) {
    const std::int64_t s = dac.upsampling_ratios[i], in = C >> i, out = C >> (i + 1);
    const std::string b = p + "block." + std::to_string(i) + ".";
    r.alpha(b + "snake1.alpha", in);
    // ConvTranspose1d weight [in, out, 2s]: each output sums in * 2s / s taps.
    r.conv(b + "conv_t1", {in, out, 2 * s}, static_cast<double>(in) * 2, out);
    for (int u = 1; u <= 3; ++u) {
      const std::string ru = b + "res_unit" + std::to_string(u) + ".";
      r.alpha(ru + "snake1.alpha", out);
      r.conv(ru + "conv1", {out, out, 7}, static_cast<double>(out) * 7, out);
      r.alpha(ru + "snake2.alpha", out);
      r.conv(ru + "conv2", {out, out, 1}, static_cast<double>(out), out, /*gain=*/0.5);  // residual branch
    }
  }
  const std::int64_t last = C >> dac.upsampling_ratios.size();
  r.alpha(p + "snake1.alpha", last);
  r.conv(p + "conv2", {1, last, 7}, static_cast<double>(last) * 7, 1);
  return CodecWeights::from_tensors(r.take(), "random codec weights (seed " + std::to_string(seed) + ")", fp32);
}

}  // namespace higgs::codec
