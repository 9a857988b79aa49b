// Builds the CodecEncoder from a transformers-format codec checkpoint: CodecConfig (config.json)
// for the hyper-parameters, CodecWeights (model.safetensors, weight norm folded) for the tensors.
// Every tensor is fetched with its expected shape, so a wrong file fails at load time with an
// E_MODEL_FORMAT error naming the file and the tensor, never inside a forward.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "codec/codec_config.h"
#include "codec/codec_encoder.h"
#include "codec/codec_weights.h"

namespace higgs::codec {

// True for the stored tensors the encode path reads (HuBERT, semantic adapter, DAC encoder,
// fc_prior, RVQ project_in/project_out/codebook); use as CodecWeights::load's filter.
bool is_encoder_tensor(const std::string& name);

// E_MODEL_FORMAT (naming config.source) for HuBERT variants the encoder does not implement
// (feat_extract_norm "layer", stable layer norm, pos-conv batch norm, non-GELU activations) and
// for adapter settings transformers itself cannot run (channel_ratios ending in other than 1).
CodecEncoderParams encoder_params_from_config(const CodecConfig& config);
CodecEncoderWeights encoder_weights_from(const CodecConfig& config, const CodecWeights& weights);

// config + weights already loaded (e.g. shared with the decoder).
CodecEncoder make_codec_encoder(const CodecConfig& config, const CodecWeights& weights,
                                const at::TensorOptions& options);

// Reads codec_dir/config.json and only the encoder's tensors of its safetensors.
CodecEncoder load_codec_encoder(const std::string& codec_dir, const at::TensorOptions& options);

}  // namespace higgs::codec
