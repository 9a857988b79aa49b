// Shared set-up for the LM tests: the device under test (HIGGS_TEST_DEVICE, default cpu, fp32
// with TF32 off so tolerances hold on CUDA too) and a small random model.
#pragma once

#include <ATen/ATen.h>

#include <cstdlib>
#include <string>

#include "lm/higgs_lm.h"
#include "lm/model_shapes.h"

namespace higgs::test {

inline at::TensorOptions test_options() {
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  std::string device = env && *env ? env : "cpu";
  if (device != "cpu") {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);  // the codec's convolutions
  }
  return at::TensorOptions().dtype(at::kFloat).device(at::Device(device));
}

// The tiny shape with a small vocabulary (the special-token ids are not needed here).
inline io::HiggsConfig small_config() {
  auto c = lm::named_config("tiny");
  c.vocab_size = 512;
  return c;
}

inline lm::HiggsLM small_model(std::uint64_t seed = 7, std::int64_t max_context = 256) {
  auto c = small_config();
  auto options = test_options();
  return lm::HiggsLM(c, lm::random_weights(c, seed, options), max_context, options);
}

// max |a - b| / max |b|: a scale-aware relative error that does not blow up near zeros.
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  auto diff = (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
  auto scale = b.to(at::kDouble).abs().max().item<double>();
  return diff / (scale > 0 ? scale : 1.0);
}

}  // namespace higgs::test
