#include "lm/model_shapes.h"

#include "errors.h"

namespace higgs::lm {

HiggsConfig named_config(const std::string& name) {
  HiggsConfig c;
  c.format = CheckpointFormat::Transformers;
  c.source = "named:" + name;
  c.vocab_size = 128256;
  c.rms_norm_eps = 1e-5;
  c.rope.theta = 500000.0;
  c.rope.llama3 = true;
  if (name == "full") {
    c.hidden_size = 3072;
    c.intermediate_size = 8192;
    c.num_layers = 28;
    c.num_heads = 24;
    c.num_kv_heads = 8;
    c.head_dim = 128;
    c.max_position_embeddings = 131072;
    c.rope.factor = 32;
    c.rope.low_freq_factor = 1;
    c.rope.high_freq_factor = 4;
    c.rope.original_max_position_embeddings = 8192;
  } else if (name == "mid") {
    // Between the two: big enough that reading the weights dominates a CPU decode step, as on a
    // GPU at full size, so batching gains show on a CPU (higgs-bench --shape mid).
    c.hidden_size = 1024;
    c.intermediate_size = 2752;
    c.num_layers = 8;
    c.num_heads = 16;
    c.num_kv_heads = 4;
    c.head_dim = 64;
    c.max_position_embeddings = 16384;
    c.rope.factor = 8;
    c.rope.low_freq_factor = 1;
    c.rope.high_freq_factor = 4;
    c.rope.original_max_position_embeddings = 8192;
  } else if (name == "tiny") {
    c.hidden_size = 64;
    c.intermediate_size = 160;
    c.num_layers = 3;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 16;
    c.max_position_embeddings = 4096;
    c.rope.factor = 8;
    c.rope.low_freq_factor = 1;
    c.rope.high_freq_factor = 4;
    c.rope.original_max_position_embeddings = 64;
  } else {
    throw HiggsError(ErrorCode::Input, "unknown model shape '" + name + "' (known: tiny, mid, full)");
  }
  return c;
}

}  // namespace higgs::lm
