// The codec encode path against the transformers goldens (test/fixtures/goldens, tiny
// HiggsAudioV2TokenizerModel): each stage fed with the golden input of that stage ("stage"), and
// the whole chain from the 24 kHz input ("chain"). Errors are max |ours - golden| over the tensor;
// every measured value is printed. Also: frame counts and the padding convention, bad input.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "check.h"
#include "codec/codec_config.h"
#include "codec/codec_encoder.h"
#include "codec/codec_encoder_load.h"
#include "codec/codec_weights.h"
#include "codec/resample16k.h"
#include "errors.h"
#include "io/safetensors.h"
#include "io/tensor_view_to_tensor.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::codec;

namespace {

constexpr double kTol = 1e-4;         // max abs error allowed per stage
constexpr double kPi = 3.14159265358979323846;
constexpr double kTieMargin = 1e-2;   // a code may flip only where the golden margin is below this
const std::string kGoldens = std::string(HIGGS_SOURCE_DIR) + "/test/fixtures/goldens";

// HIGGS_TEST_DEVICE (default cpu); fp32 with TF32 off so the tolerances hold on CUDA too.
at::TensorOptions options() { return higgs::test::test_options(); }

const CodecEncoder& encoder() {
  static const CodecEncoder enc = load_codec_encoder(kGoldens + "/codec", options());
  return enc;
}

at::Tensor golden(const std::string& name) {
  static const io::SafetensorsFile file(kGoldens + "/codec_goldens.safetensors");
  const auto it = file.tensors().find(name);
  if (it == file.tensors().end()) throw std::runtime_error("golden tensor missing: " + name);
  return io::tensor_from_view(it->second).clone();
}

at::Tensor on_device(const at::Tensor& t) { return t.to(options()); }

double max_abs(const at::Tensor& ours, const at::Tensor& want) {
  if (ours.sizes() != want.sizes()) return std::numeric_limits<double>::infinity();
  return (ours.cpu().to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>();
}

void expect_close(const std::string& what, const at::Tensor& ours, const at::Tensor& want) {
  const double err = max_abs(ours, want);
  std::printf("  %-44s max|d| = %.3e  (golden absmax %.3f)\n", what.c_str(), err,
              want.abs().max().item<double>());
  HIGGS_CHECK_MSG(ours.sizes() == want.sizes(), what << ": shape " << ours.sizes() << " vs " << want.sizes());
  HIGGS_CHECK_MSG(err < kTol, what << ": max abs error " << err);
}

// Codes must be equal, except that a column may diverge from the first stage whose golden margin
// is a near tie (a flip there changes the residual of every later stage).
void expect_codes(const std::string& what, const at::Tensor& ours, const at::Tensor& want, const at::Tensor& margin) {
  HIGGS_CHECK_MSG(ours.sizes() == want.sizes(), what << ": shape " << ours.sizes() << " vs " << want.sizes());
  if (ours.sizes() != want.sizes()) return;
  const auto a = ours.cpu(), b = want.cpu(), m = margin.cpu();
  std::int64_t flips = 0;
  for (std::int64_t t = 0; t < a.size(1); ++t) {
    for (std::int64_t q = 0; q < a.size(0); ++q) {
      if (a[q][t].item<std::int64_t>() == b[q][t].item<std::int64_t>()) continue;
      const double gap = m[q][t].item<double>();
      ++flips;
      HIGGS_CHECK_MSG(gap < kTieMargin, what << ": code differs at stage " << q << ", frame " << t
                                             << " where the golden margin is " << gap << " (not a near tie)");
      break;  // later stages of this frame quantize another residual
    }
  }
  std::printf("  %-44s %lld of %lld frames differ (min golden margin %.3e)\n", what.c_str(),
              static_cast<long long>(flips), static_cast<long long>(a.size(1)), m.min().item<double>());
}

std::int64_t expected_frames(std::int64_t n) { return n >= 119 ? (n + 841) / 960 : 0; }

void check_stages(std::int64_t n) {
  const std::string pre = "encode.N" + std::to_string(n) + ".";
  const auto& enc = encoder();
  const auto& w = enc.weights();
  const auto& p = enc.params();
  std::printf("  N = %lld\n", static_cast<long long>(n));

  // Stage by stage, each from the golden input of that stage.
  const auto input = on_device(golden(pre + "input"));
  expect_close("stage resampled_16k", sinc_resample(input, 24000, 16000), golden(pre + "resampled_16k"));
  const auto x16 = on_device(golden(pre + "resampled_16k")).view({-1});
  const auto states = hubert_hidden_states(p.hubert, w.hubert, at::constant_pad_nd(x16, {160, 160}));
  expect_close("stage hubert_hidden_states", states, golden(pre + "hubert_hidden_states"));
  expect_close("stage semantic_layer_mean_full", on_device(golden(pre + "hubert_hidden_states")).mean(0),
               golden(pre + "semantic_layer_mean_full"));
  expect_close("stage e_semantic",
               semantic_encoder_forward(w.semantic, on_device(golden(pre + "semantic_layer_mean")).transpose(1, 2)),
               golden(pre + "e_semantic"));
  AcousticEncoderTrace acoustic;
  expect_close("stage e_acoustic", acoustic_encoder_forward(w.acoustic, input, &acoustic), golden(pre + "e_acoustic"));
  if (n == 4800) {
    expect_close("stage enc_conv1", acoustic.conv1, golden(pre + "enc_conv1"));
    for (size_t i = 0; i < acoustic.blocks.size(); ++i) {
      expect_close("stage enc_block" + std::to_string(i), acoustic.blocks[i], golden(pre + "enc_block" + std::to_string(i)));
    }
  }
  const auto fused = at::cat({on_device(golden(pre + "e_acoustic")), on_device(golden(pre + "e_semantic"))}, 1);
  expect_close("stage fc_prior_out", at::linear(fused.transpose(1, 2), w.fc_w, w.fc_b).transpose(1, 2),
               golden(pre + "fc_prior_out"));
  at::Tensor margins;
  const auto fc_golden = on_device(golden(pre + "fc_prior_out"))[0].t().contiguous();
  const auto stage_codes = rvq_encode(w.quantizers, fc_golden, &margins);
  expect_codes("stage codes (RVQ of golden fc_prior_out)", stage_codes, golden(pre + "codes")[0],
               golden(pre + "rvq_margin"));

  // The whole chain from the 24 kHz input.
  EncodeTrace trace;
  const auto codes = enc.encode(input.view({-1}), &trace);
  expect_close("chain resampled_16k", trace.resampled_16k, golden(pre + "resampled_16k"));
  expect_close("chain hubert_hidden_states", trace.hubert_hidden_states, golden(pre + "hubert_hidden_states"));
  expect_close("chain semantic_layer_mean_full", trace.semantic_layer_mean_full, golden(pre + "semantic_layer_mean_full"));
  expect_close("chain semantic_layer_mean", trace.semantic_layer_mean, golden(pre + "semantic_layer_mean"));
  expect_close("chain e_semantic", trace.e_semantic, golden(pre + "e_semantic"));
  expect_close("chain e_acoustic", trace.e_acoustic, golden(pre + "e_acoustic"));
  expect_close("chain fc_prior_out", trace.fc_prior_out, golden(pre + "fc_prior_out"));
  HIGGS_CHECK(!trace.acoustic_padded);  // N % 960 == 0: no padding branch
  HIGGS_CHECK(codes.device().is_cpu() && codes.scalar_type() == at::kLong);
  expect_codes("chain codes", codes, golden(pre + "codes")[0], golden(pre + "rvq_margin"));
  // Where codes agree the margins must too (same distances up to rounding).
  if (codes.equal(golden(pre + "codes")[0])) expect_close("chain rvq_margin", trace.rvq_margin, golden(pre + "rvq_margin"));
}

// A deterministic test waveform (not a golden): two tones plus a little hash noise.
at::Tensor tone(std::int64_t n) {
  auto t = at::arange(n, at::kDouble) / 24000.0;
  auto noise = (at::arange(n, at::kDouble) * 12.9898).sin() * 0.02;
  return (0.3 * (t * (2 * kPi) * 220.0).sin() + 0.2 * (t * (2 * kPi) * 1375.5).sin() + noise).to(at::kFloat);
}

}  // namespace

HIGGS_TEST(encode_stages_match_goldens_n4800) { check_stages(4800); }

HIGGS_TEST(encode_stages_match_goldens_n24000) { check_stages(24000); }

HIGGS_TEST(resample_length_is_ceil_two_thirds) {
  for (std::int64_t n : {1, 2, 3, 4, 5, 119, 4800, 24001}) {
    const auto y = sinc_resample(at::zeros({n}), 24000, 16000);
    HIGGS_CHECK_MSG(y.size(0) == (2 * n + 2) / 3, "N " << n << " gave " << y.size(0));
    HIGGS_CHECK(sinc_resample_length(n, 24000, 16000) == y.size(0));
  }
}

// Frame count and padding convention over every length up to 12 frames, from the arithmetic.
HIGGS_TEST(frame_count_formula_and_acoustic_padding) {
  const auto& enc = encoder();
  const auto& ratios = enc.params().downsampling_ratios;
  HIGGS_CHECK(enc.min_samples() == 119);
  for (std::int64_t n = 1; n <= 960 * 12; ++n) {
    const std::int64_t t = enc.num_frames(n);
    HIGGS_CHECK_MSG(t == expected_frames(n), "N " << n << ": " << t << " frames");
    if (t < 1) continue;
    const std::int64_t raw = acoustic_encoder_frames(ratios, n);
    const std::int64_t padded = acoustic_encoder_frames(ratios, n + 960);
    const std::int64_t r = n % 960;
    const bool pads = r >= 119 && r <= 631;  // the window documented in codec_encoder.h
    HIGGS_CHECK_MSG((raw != t) == pads, "N " << n << ": raw acoustic frames " << raw << ", T " << t);
    HIGGS_CHECK_MSG(raw == t || padded == t, "N " << n << ": padded acoustic frames " << padded << ", T " << t);
  }
}

HIGGS_TEST(encode_shapes_for_lengths_on_and_off_the_hop) {
  const auto& enc = encoder();
  for (std::int64_t n : {119, 960, 1000, 2880, 2999, 3000, 3511, 3512, 3600, 4800, 5000, 7000}) {
    EncodeTrace trace;
    const auto codes = enc.encode(tone(n), &trace);
    const std::int64_t t = expected_frames(n);
    HIGGS_CHECK_MSG(codes.dim() == 2 && codes.size(0) == 8 && codes.size(1) == t,
                    "N " << n << ": codes " << codes.sizes() << ", want [8, " << t << "]");
    const std::int64_t r = n % 960;
    HIGGS_CHECK_MSG(trace.acoustic_padded == (r >= 119 && r <= 631), "N " << n << ": padded " << trace.acoustic_padded);
    HIGGS_CHECK(codes.min().item<std::int64_t>() >= 0 && codes.max().item<std::int64_t>() < 1024);
  }
  // Deterministic: the same input gives the same codes.
  HIGGS_CHECK(enc.encode(tone(3000)).equal(enc.encode(tone(3000))));
}

HIGGS_TEST(encode_rejects_bad_input) {
  const auto& enc = encoder();
  HIGGS_CHECK_THROWS(enc.encode(at::Tensor()), ErrorCode::Input, "no waveform");
  HIGGS_CHECK_THROWS(enc.encode(at::zeros({0})), ErrorCode::Input, "empty");
  HIGGS_CHECK_THROWS(enc.encode(at::zeros({118})), ErrorCode::Input, "too short");
  HIGGS_CHECK_THROWS(enc.encode(at::zeros({1, 4800})), ErrorCode::Input, "1-D");
  HIGGS_CHECK_THROWS(enc.encode(at::zeros({4800}, at::kLong)), ErrorCode::Input, "floating point");
  auto nan = tone(4800);
  nan[1234].fill_(std::numeric_limits<float>::quiet_NaN());
  HIGGS_CHECK_THROWS(enc.encode(nan), ErrorCode::Input, "NaN");
  auto inf = tone(4800);
  inf[7].fill_(std::numeric_limits<float>::infinity());
  HIGGS_CHECK_THROWS(enc.encode(inf), ErrorCode::Input, "infinite");
}

HIGGS_TEST(loader_names_missing_tensor_and_refuses_unsupported_hubert) {
  const auto config = load_codec_config(kGoldens + "/codec");
  auto weights = CodecWeights::load(kGoldens + "/codec", at::TensorOptions().dtype(at::kFloat), is_encoder_tensor);
  HIGGS_CHECK(!weights.has("acoustic_decoder.conv1.weight"));  // the filter keeps the encoder only
  auto tensors = weights.tensors();
  tensors.erase("encoder_semantic.conv_blocks.1.conv.bias");
  const auto partial = CodecWeights::from_tensors(tensors, "partial.safetensors");
  HIGGS_CHECK_THROWS(make_codec_encoder(config, partial, options()), ErrorCode::ModelFormat,
                     "encoder_semantic.conv_blocks.1.conv.bias");
  auto layer_norm_variant = config;
  layer_norm_variant.semantic.feat_extract_norm = "layer";
  HIGGS_CHECK_THROWS(make_codec_encoder(layer_norm_variant, weights, options()), ErrorCode::ModelFormat,
                     "feat_extract_norm");
}
