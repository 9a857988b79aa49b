// Every tensor of a codec checkpoint (transformers HiggsAudioV2TokenizerModel safetensors), keyed
// by its stored name, on one device. Float tensors are converted to the requested float dtype
// (fp32 is the codec's intended dtype); integer/bool buffers keep their dtype.
//
// Weight norm is folded at load time: a pair `X.parametrizations.weight.original0/original1`
// (g, v: how torch.nn.utils.parametrizations.weight_norm saves, e.g. the HuBERT positional conv
// semantic_model.encoder.pos_conv_embed.conv) or `X.weight_g/X.weight_v` (the older
// torch.nn.utils.weight_norm) becomes one plain `X.weight` (see weight_norm.h for the dim).
// DAC convs already hold a folded `.weight` in transformers checkpoints.
//
// Names (docs/model.md#codec-checkpoint): acoustic_decoder.*, acoustic_encoder.*,
// quantizer.quantizers.{q}.{project_in,project_out}.{weight,bias}, quantizer.quantizers.{q}.codebook.embed,
// fc.* (fc_prior), fc1.*, fc2.*, encoder_semantic.*, decoder_semantic.*, semantic_model.* (HuBERT).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "codec/codec_config.h"

namespace higgs::codec {

// Decides which stored tensors to load, by their final (folded) name; empty = all.
using TensorFilter = std::function<bool(const std::string& name)>;

// Keeps the tensors a decode needs: quantizer project_out + codebook, fc2, acoustic_decoder.
bool is_decoder_tensor(const std::string& name);

class CodecWeights {
 public:
  // Loads codec_dir's model.safetensors (or its shards). A directory with only the original
  // model.pth gives an E_MODEL_FORMAT error with the conversion hint.
  static CodecWeights load(const std::string& codec_dir,
                           const at::TensorOptions& options = at::TensorOptions().dtype(at::kFloat),
                           const TensorFilter& keep = {});

  // From tensors already in memory (tests, converters): the same folding and conversion.
  // `origin` names the source in errors.
  static CodecWeights from_tensors(const std::map<std::string, at::Tensor>& tensors, const std::string& origin,
                                   const at::TensorOptions& options = at::TensorOptions().dtype(at::kFloat));

  bool has(const std::string& name) const { return tensors_.count(name) > 0; }

  // The tensor, checked against `expected_shape`; E_MODEL_FORMAT naming file and tensor when it
  // is missing or has another shape.
  const at::Tensor& get(const std::string& name, at::IntArrayRef expected_shape) const;
  const at::Tensor& get(const std::string& name) const;  // existence check only

  // Distinct indices N of the names "<prefix>N.<anything>", sorted (e.g. quantizer.quantizers.).
  std::vector<std::int64_t> indices_under(const std::string& prefix) const;

  const std::map<std::string, at::Tensor>& tensors() const { return tensors_; }
  std::string file_of(const std::string& name) const;  // file the tensor came from, or origin()
  const std::string& origin() const { return origin_; }
  const at::TensorOptions& options() const { return options_; }

 private:
  void add(const std::string& name, at::Tensor tensor, const std::string& file);

  std::map<std::string, at::Tensor> tensors_;
  std::map<std::string, std::string> files_;
  std::string origin_;
  at::TensorOptions options_;
};

// Cross-checks config.num_quantizers (from target_bandwidths) against the quantizer.quantizers.{q}
// tensors present: they must be exactly 0 .. num_quantizers-1. E_MODEL_FORMAT otherwise.
void check_num_quantizers(const CodecConfig& config, const CodecWeights& weights);

}  // namespace higgs::codec
