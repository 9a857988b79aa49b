// config.json of the Higgs Audio V2 audio tokenizer (codec) in the transformers format:
// model_type "higgs_audio_v2_tokenizer" (HiggsAudioV2TokenizerConfig, an XcodecConfig), with a DAC
// acoustic_model_config and a HuBERT semantic_model_config. The original boson-ai release
// (config.json with n_q/D/ratios + a pickled model.pth) is refused with the command that converts
// it (scripts/convert_codec.py). See docs/model.md#codec-checkpoint.
//
// Field policy: values that decide tensor shapes are required (codebook_size, target_bandwidths,
// every DAC size and ratio list, the HuBERT sizes and conv lists); the others fall back to the
// defaults of the transformers classes. Derived values are computed exactly as the Python
// properties compute them. Both the decoder (codec_decoder.h) and the encoder read this struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace higgs::codec {

// acoustic_model_config: the DAC encoder/decoder (transformers DacConfig field names).
struct DacConfig {
  std::int64_t encoder_hidden_size = 64;     // channels after the encoder's first conv
  std::int64_t decoder_hidden_size = 1024;   // channels after the decoder's first conv
  std::int64_t hidden_size = 256;            // acoustic latent channels (encoder out, decoder in)
  std::vector<std::int64_t> downsampling_ratios;  // encoder strides, in order: {8, 5, 4, 2, 3}
  std::vector<std::int64_t> upsampling_ratios;    // decoder strides, in order: {8, 5, 4, 2, 3}
};

// semantic_model_config: HuBERT (transformers HubertConfig field names and defaults).
struct HubertConfig {
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";               // exact (erf) GELU
  std::vector<std::int64_t> conv_dim;            // feature-encoder channels, one per conv layer
  std::vector<std::int64_t> conv_kernel;         // {10, 3, 3, 3, 3, 2, 2}
  std::vector<std::int64_t> conv_stride;         // {5, 2, 2, 2, 2, 2, 2}
  bool conv_bias = false;
  std::string feat_extract_norm = "group";       // "group": GroupNorm on conv 0 only; "layer": LN on every conv
  std::string feat_extract_activation = "gelu";
  bool feat_proj_layer_norm = true;
  bool do_stable_layer_norm = false;             // false: post-LN layers (the real model)
  std::int64_t num_conv_pos_embeddings = 128;    // positional conv kernel (weight norm dim=2)
  std::int64_t num_conv_pos_embedding_groups = 16;
  bool conv_pos_batch_norm = false;              // true only for some HuBERT variants; unsupported
  double layer_norm_eps = 1e-5;
};

struct CodecConfig {
  std::string source;  // path of the config.json it came from (for error messages)

  std::int64_t sample_rate = 24000;           // codec audio rate (decode output, encode input)
  std::int64_t semantic_sample_rate = 16000;  // HuBERT input rate
  std::int64_t downsample_factor = 320;       // HuBERT total conv stride
  std::int64_t codebook_size = 1024;          // codes lie in [0, codebook_size)
  std::int64_t codebook_dim = 64;             // per-codebook vector size (project_in out / project_out in)
  std::vector<double> target_bandwidths;      // kbps; the last one decides num_quantizers

  // Semantic adapter (encoder_semantic) hyper-parameters.
  std::int64_t kernel_size = 3;
  std::int64_t unit_kernel_size = 3;
  std::vector<double> channel_ratios{1, 1};
  std::vector<std::int64_t> strides{1, 1};
  std::vector<std::int64_t> block_dilations{1, 1};

  DacConfig acoustic;
  HubertConfig semantic;

  // Derived exactly as the transformers properties:
  std::int64_t hop_length = 0;                  // prod(acoustic.downsampling_ratios): 960
  std::int64_t frame_rate = 0;                  // ceil(sample_rate / hop_length): 25
  std::int64_t codebook_nbits = 0;              // ceil(log2(codebook_size)): 10
  std::int64_t num_quantizers = 0;              // int(1000 * target_bandwidths[-1] // (frame_rate * nbits)): 8
  std::int64_t hidden_size = 0;                 // acoustic.hidden_size + semantic.hidden_size: 1024 (RVQ dim)
  std::int64_t semantic_downsample_factor = 0;  // int(hop / (sr / semantic_sr) / downsample_factor): 2

  // Waveform samples the decoder produces per code frame: prod(acoustic.upsampling_ratios),
  // checked equal to hop_length at parse time.
  std::int64_t samples_per_frame() const { return hop_length; }
};

// Parses and validates; throws HiggsError(E_MODEL_FORMAT) naming `source` and the field.
CodecConfig parse_codec_config_json(const std::string& json_text, const std::string& source);

// Reads codec_dir/config.json. A directory holding the original release (model.pth, or a config
// without model_type "higgs_audio_v2_tokenizer") gives an E_MODEL_FORMAT error that says how to
// convert it with scripts/convert_codec.py.
CodecConfig load_codec_config(const std::string& codec_dir);

// The conversion hint used in those errors (exposed for the weights loader and tests).
std::string codec_conversion_hint(const std::string& codec_dir);

}  // namespace higgs::codec
