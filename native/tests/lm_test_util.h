// Shared set-up for the LM tests: the device under test (HIGGS_TEST_DEVICE, default cpu, fp32
// with TF32 off so tolerances hold on CUDA too) and a small random model.
#pragma once

#include <ATen/ATen.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "lm/higgs_lm.h"
#include "lm/model_shapes.h"
#include "torch_settings.h"

namespace higgs::test {

// Also applies the settings an Engine would (NNPACK off): the codec tests run its stages without one.
inline at::TensorOptions test_options() {
  apply_torch_settings();
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  std::string device = env && *env ? env : "cpu";
  if (device != "cpu") {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);  // the codec's convolutions
  }
  return at::TensorOptions().dtype(at::kFloat).device(at::Device(device));
}

// The tiny shape with a small vocabulary (the special-token ids are not needed here).
inline lm::HiggsConfig small_config() {
  auto c = lm::named_config("tiny");
  c.vocab_size = 512;
  return c;
}

inline lm::HiggsLM small_model(std::uint64_t seed = 7, std::int64_t max_context = 256) {
  auto c = small_config();
  auto options = test_options();
  return lm::HiggsLM(c, lm::random_weights(c, seed, options), max_context, options);
}

// Random weights whose layers add nothing (zero output projections) and whose audio rows all
// embed to one vector: every audio step sees the same hidden state, so its logits never change.
inline lm::HiggsWeights constant_step_weights(const lm::HiggsConfig& c, std::uint64_t seed,
                                              const at::TensorOptions& options) {
  auto weights = lm::random_weights(c, seed, options);
  weights.embed_audio.fill_(1.0);
  for (auto& l : weights.layers) {
    l.o_proj.zero_();
    l.down_proj.zero_();
    l.audio_down_proj.zero_();
  }
  return weights;
}

// ... and whose audio head makes stream-eos the argmax of every codebook (the eos rows point
// along the final norm's weights, the direction of the normalised hidden state).
inline lm::HiggsWeights always_eos_weights(const lm::HiggsConfig& c, std::uint64_t seed, const at::TensorOptions& options) {
  auto weights = constant_step_weights(c, seed, options);
  for (std::int64_t k = 0; k < c.num_codebooks; ++k) {
    weights.audio_head[k * c.codebook_vocab + c.audio_stream_eos_id].copy_(weights.norm * 10.0);
  }
  return weights;
}

// A short smart-voice-shaped prompt: a few text ids and no audio.
inline lm::LmInput short_prompt() {
  lm::LmInput in;
  in.input_ids = at::tensor(std::vector<std::int64_t>{1, 17, 300, 42, 7, 99}, at::kLong);
  in.audio_mask = at::zeros({6}, at::kBool);
  in.audio_codes = at::zeros({0, 8}, at::kLong);
  return in;
}

// max |a - b| / max |b|: a scale-aware relative error that does not blow up near zeros.
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  auto diff = (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
  auto scale = b.to(at::kDouble).abs().max().item<double>();
  return diff / (scale > 0 ? scale : 1.0);
}

}  // namespace higgs::test
