// Maps the tensor keys of both checkpoint formats to one canonical naming (the transformers one):
//   model.embed_tokens.weight, model.layers.{i}.self_attn.{q,k,v,o}_proj.weight,
//   model.layers.{i}.{mlp,audio_mlp}.{gate,up,down}_proj.weight,
//   model.layers.{i}.{input_layernorm,post_attention_layernorm,audio_input_layernorm,
//                     audio_post_attention_layernorm}.weight,
//   model.norm.weight, model.embed_audio_tokens.embed_audio_tokens.weight,
//   audio_lm_head.weight, text_lm_head.weight (optional)
// Split tensors written by partial-freeze training (embedding_frozen/embedding_trainable,
// linear_frozen/linear_trainable) become one weight of two parts, concatenated along dim 0.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "lm/checkpoint_config.h"

namespace higgs::lm {

struct WeightSource {
  std::vector<io::TensorView> parts;  // concatenated along dim 0, in order (frozen first)
};

// Canonical name -> source. Keys that are known to be irrelevant (rotary inv_freq,
// audio_codebook_weights) are dropped; any other unknown key is an error naming it.
std::map<std::string, WeightSource> canonical_weights(const io::Checkpoint& checkpoint);

// The canonical name for one stored key ("" for keys that are ignored). Exposed for tests.
std::string canonical_name(const std::string& stored_key);

// Every canonical tensor of a checkpoint for `config`, name -> shape: what load_weights takes
// (text_lm_head.weight only when with_text_head), and what a released index must map onto.
std::map<std::string, std::vector<std::int64_t>> canonical_shapes(const HiggsConfig& config, bool with_text_head);

// True for the canonical names of the projections int8 weights quantize (lm/higgs_weights.h
// quantize_layer): q/k/v/o, both MLPs' gate/up/down, the audio and text heads.
bool is_projection_weight(const std::string& canonical);

}  // namespace higgs::lm
