// Shared set-up for the codec tests: the device under test (HIGGS_TEST_DEVICE, default cpu; fp32
// with TF32 off for both cuBLAS and cuDNN so tolerances hold on CUDA), the committed transformers
// goldens (test/fixtures/goldens: codec/ checkpoint + codec_goldens.safetensors), a small
// safetensors writer for building broken checkpoints in temp dirs, and the fixture decoder.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "check.h"
#include "codec/codec_decoder.h"
#include "codec/codec_weights.h"
#include "io/safetensors.h"
#include "io/tensor_view_to_tensor.h"
#include "lm_test_util.h"

namespace higgs::test {

inline at::TensorOptions codec_test_options() { return test_options(); }

inline std::string goldens_dir() { return std::string(HIGGS_SOURCE_DIR) + "/test/fixtures/goldens"; }
inline std::string codec_fixture_dir() { return goldens_dir() + "/codec"; }

// Every tensor of codec_goldens.safetensors, copied to CPU tensors.
inline std::map<std::string, at::Tensor> load_codec_goldens() {
  io::SafetensorsFile file(goldens_dir() + "/codec_goldens.safetensors");
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, view] : file.tensors()) out[name] = io::tensor_from_view(view).clone();
  return out;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.cpu().to(at::kDouble) - b.cpu().to(at::kDouble)).abs().max().item<double>();
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_text(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file of F32 / I64 CPU tensors (written little-endian as stored in memory).
inline void write_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    const at::Tensor t = tensor.cpu().contiguous();
    const char* dtype = t.scalar_type() == at::kLong ? "I64" : "F32";
    const at::Tensor typed = t.scalar_type() == at::kLong ? t : t.to(at::kFloat);
    const std::size_t begin = data.size();
    data.append(static_cast<const char*>(typed.data_ptr()), typed.numel() * typed.element_size());
    header[name] = {{"dtype", dtype}, {"shape", typed.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::string bytes(8, '\0');
  const std::uint64_t length = text.size();
  std::memcpy(&bytes[0], &length, 8);  // little-endian hosts only, as the goldens
  write_text(path, bytes + text + data);
}

// ---- the fixture codec ----

inline const codec::CodecDecoder& fixture_decoder() {
  static const codec::CodecDecoder decoder = codec::CodecDecoder::load(codec_fixture_dir(), codec_test_options());
  return decoder;
}

// The same weights in fp64: a reference free of fp32 rounding, to tell exactness from noise.
inline const codec::CodecDecoder& fixture_decoder_fp64() {
  static const codec::CodecDecoder decoder =
      codec::CodecDecoder::load(codec_fixture_dir(), codec_test_options().dtype(at::kDouble));
  return decoder;
}

inline at::Tensor random_codes(std::int64_t frames, std::uint64_t seed) {
  at::manual_seed(seed);
  return at::randint(0, 1024, {8, frames}, at::kLong);
}

// Absolute tolerance; a `relative` one (to max|want|) instead when given, for outputs whose
// fp32 rounding noise scales with their magnitude.
inline void check_close(const char* what, const at::Tensor& got, const at::Tensor& want, double tolerance,
                        double relative = 0) {
  HIGGS_CHECK_MSG(got.sizes() == want.sizes(), what << ": shape " << got.sizes() << " vs " << want.sizes());
  if (got.sizes() != want.sizes()) return;
  const double err = max_abs_diff(got, want);
  const double scale = want.abs().max().item<double>();
  std::printf("  %-22s max|diff| %.3g (absmax %.3g, relative %.2g)\n", what, err, scale, err / scale);
  if (relative > 0) {
    HIGGS_CHECK_MSG(err <= relative * scale, what << ": max abs error " << err << " > " << relative << " * "
                                                   << scale);
  } else {
    HIGGS_CHECK_MSG(err < tolerance, what << ": max abs error " << err);
  }
}

inline std::map<std::string, at::Tensor> fixture_tensors() {
  return codec::CodecWeights::load(codec_fixture_dir()).tensors();
}

inline std::string fixture_config_text() { return read_text(codec_fixture_dir() + "/config.json"); }

}  // namespace higgs::test
