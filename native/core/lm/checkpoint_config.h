// config.json of a Higgs Audio V2 generation checkpoint, in either format:
//   original      model_type "higgs_audio" (text_config holds the Llama fields, audio_* at top level)
//   transformers  model_type "higgs_audio_v2" (flat; codebook_size counts stream bos/eos)
// Parsing normalises both into HiggsConfig and refuses features the core does not implement.
#pragma once

#include <cstdint>
#include <string>

namespace higgs::lm {

enum class CheckpointFormat { Original, Transformers };

struct RopeConfig {
  double theta = 500000.0;
  bool llama3 = false;  // llama3 frequency scaling; otherwise plain RoPE
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192.0;
};

struct HiggsConfig {
  CheckpointFormat format = CheckpointFormat::Transformers;
  std::string source;  // path of the config.json it came from

  // Llama backbone
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
  double rms_norm_eps = 1e-5;
  std::int64_t max_position_embeddings = 0;
  RopeConfig rope;

  // Audio side. codebook_vocab counts the stream bos/eos ids: 1026 for the real model.
  std::int64_t num_codebooks = 8;
  std::int64_t codebook_vocab = 1026;
  std::int64_t audio_stream_bos_id = 1024;
  std::int64_t audio_stream_eos_id = 1025;

  // Special text tokens (ids in the Llama-3 vocabulary).
  std::int64_t audio_in_token_id = 128015;   // <|AUDIO|>
  std::int64_t audio_out_token_id = 128016;  // <|AUDIO_OUT|>
  std::int64_t audio_bos_token_id = 128011;  // <|audio_bos|>
  std::int64_t audio_out_bos_token_id = 128013;  // <|audio_out_bos|>
  std::int64_t audio_eos_token_id = 128012;  // <|audio_eos|>
  std::int64_t pad_token_id = 128001;
  std::int64_t eot_token_id = 128009;
};

// Parses and validates; throws HiggsError(E_MODEL_FORMAT) naming the file and the field.
HiggsConfig parse_config_json(const std::string& json_text, const std::string& source);
HiggsConfig load_config(const std::string& model_dir);  // reads model_dir/config.json

}  // namespace higgs::lm
