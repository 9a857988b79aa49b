// Seeded random LM weights (higgs-bench, tests): deterministic for a seed, the config's shapes,
// and, on the meta device (shapes only, no memory), the real model's parameter count.
#include <ATen/ATen.h>

#include "check.h"
#include "lm/higgs_weights.h"
#include "lm/model_shapes.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

HIGGS_TEST(random_weights_are_deterministic_for_a_seed) {
  auto c = small_config();
  auto options = test_options();
  auto a = random_weights(c, 11, options), b = random_weights(c, 11, options), other = random_weights(c, 12, options);
  HIGGS_CHECK(at::equal(a.embed_audio, b.embed_audio) && at::equal(a.layers.back().audio_down_proj, b.layers.back().audio_down_proj));
  HIGGS_CHECK(!at::equal(a.embed_audio, other.embed_audio));
  // Projections of std 0.02, norms around 1: a forward pass stays finite and well scaled.
  const double std = a.layers[0].q_proj.std().item<double>();
  HIGGS_CHECK_MSG(std > 0.018 && std < 0.022, std);
  const double norm_mean = a.layers[0].input_norm.mean().item<double>();
  HIGGS_CHECK_MSG(norm_mean > 0.95 && norm_mean < 1.05, norm_mean);
  HIGGS_CHECK(!random_weights(c, 11, options, false).text_head.defined());
}

HIGGS_TEST(random_weights_follow_the_config_shapes) {
  auto c = small_config();
  auto w = random_weights(c, 3, test_options());
  const auto D = c.head_dim, H = c.hidden_size, I = c.intermediate_size;
  HIGGS_CHECK(w.layers.size() == static_cast<size_t>(c.num_layers));
  HIGGS_CHECK(w.layers[0].q_proj.sizes() == at::IntArrayRef({c.num_heads * D, H}));
  HIGGS_CHECK(w.layers[0].k_proj.sizes() == at::IntArrayRef({c.num_kv_heads * D, H}));
  HIGGS_CHECK(w.layers[0].audio_down_proj.sizes() == at::IntArrayRef({H, I}));
  HIGGS_CHECK(w.audio_head.sizes() == at::IntArrayRef({c.num_codebooks * c.codebook_vocab, H}));
  // Fusing keeps the count: the separate projections become views of the fused ones.
  const auto before = w.parameter_count();
  fuse_projections(w);
  HIGGS_CHECK(w.parameter_count() == before);
  HIGGS_CHECK(w.layers[0].qkv_proj.sizes() == at::IntArrayRef({(c.num_heads + 2 * c.num_kv_heads) * D, H}));
  HIGGS_CHECK(w.layers[0].k_proj.data_ptr() == static_cast<char*>(w.layers[0].qkv_proj.data_ptr()) +
                                                   c.num_heads * D * H * w.layers[0].qkv_proj.element_size());
}

HIGGS_TEST(the_full_shape_has_the_real_models_parameter_count) {
  // 3.607 B LLM (attention, text MLP, embeddings, text head) + 2.164 B adapter (audio MLPs, audio
  // embeddings, audio head): docs/model.md#decode-step-cost. Meta tensors: shapes without memory.
  auto meta = at::TensorOptions().dtype(at::kBFloat16).device(at::kMeta);
  auto w = random_weights(named_config("full"), 1, meta);
  HIGGS_CHECK_MSG(w.parameter_count() == 5771283456LL, w.parameter_count());
  HIGGS_CHECK(w.bytes() == 2 * 5771283456LL);
}
