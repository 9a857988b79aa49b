// A codec with random weights of the real Higgs Audio V2 tokenizer shape, for the bench and tests
// where no checkpoint is available (no model hub): decode timings depend on shapes, not values.
//
// higgs_v2_codec_config() is the config.json of bosonai/higgs-audio-v2-tokenizer in the
// transformers format (docs/model.md#codec-checkpoint): 24 kHz, hop 960 (25 frames/s),
// 8 quantizers of 1024 codes (target_bandwidths [0.5, 1, 1.5, 2]), codebook_dim 64, RVQ dim 1024,
// DAC decoder 256 -> 1024 channels with upsampling ratios [8, 5, 4, 2, 3], HuBERT-base semantic
// config. It is parsed by parse_codec_config_json, so the derived values are computed the same way
// as for a checkpoint.
//
// random_decoder_weights() makes only the decode side (quantizer codebooks + project_out, fc2,
// acoustic_decoder), fp32, generated on the target device from a seed (same values for the same
// seed on one device). The scales keep a decode finite and O(1..100) in amplitude: convs
// ~ N(0, 1/fan_in), residual branches scaled down, Snake alpha near 1, small biases.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "codec/codec_config.h"
#include "codec/codec_weights.h"

namespace higgs::codec {

// The real tokenizer's config.json text (transformers higgs_audio_v2_tokenizer).
std::string higgs_v2_codec_config_json();

// That config parsed; its `source` is "builtin:higgs-audio-v2-tokenizer".
CodecConfig higgs_v2_codec_config();

// Seeded random decode weights for `config` on options.device(), always fp32 (the dtype in
// `options` is ignored: the codec runs in fp32). Names as a transformers checkpoint stores them.
CodecWeights random_decoder_weights(const CodecConfig& config, std::uint64_t seed, const at::TensorOptions& options);

}  // namespace higgs::codec
