// The codec decode path against the transformers goldens (RVQ sum, fc2, every DAC decoder block,
// audio), decode lengths, windowed decode == whole decode (also window by window as
// lib/speech/stream.ts streams), config/weights loading and their errors. HIGGS_TEST_DEVICE picks
// the device (default cpu).
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"
#include "codec/codec_config.h"
#include "codec/codec_decoder.h"
#include "codec/codec_weights.h"
#include "codec/weight_norm.h"
#include "codec_test_util.h"
#include "errors.h"

using namespace higgs;
using namespace higgs::codec;
using namespace higgs::test;

// ---- config ----

HIGGS_TEST(config_of_the_fixture) {
  const CodecConfig c = load_codec_config(codec_fixture_dir());
  HIGGS_CHECK(c.sample_rate == 24000 && c.semantic_sample_rate == 16000 && c.downsample_factor == 320);
  HIGGS_CHECK(c.codebook_size == 1024 && c.codebook_dim == 8 && c.codebook_nbits == 10);
  HIGGS_CHECK(c.hop_length == 960 && c.frame_rate == 25 && c.samples_per_frame() == 960);
  HIGGS_CHECK_MSG(c.num_quantizers == 8, c.num_quantizers);
  HIGGS_CHECK(c.hidden_size == 48 && c.semantic_downsample_factor == 2);
  HIGGS_CHECK(c.acoustic.decoder_hidden_size == 64 && c.acoustic.hidden_size == 16);
  HIGGS_CHECK(c.acoustic.encoder_hidden_size == 2);
  HIGGS_CHECK((c.acoustic.upsampling_ratios == std::vector<std::int64_t>{8, 5, 4, 2, 3}));
  HIGGS_CHECK((c.acoustic.downsampling_ratios == std::vector<std::int64_t>{8, 5, 4, 2, 3}));
  HIGGS_CHECK(c.semantic.hidden_size == 32 && c.semantic.num_hidden_layers == 2 && c.semantic.num_attention_heads == 2);
  HIGGS_CHECK(c.semantic.intermediate_size == 64 && c.semantic.conv_dim.size() == 7 && c.semantic.conv_kernel[0] == 10);
  HIGGS_CHECK(c.semantic.num_conv_pos_embeddings == 128 && c.semantic.num_conv_pos_embedding_groups == 16);
  HIGGS_CHECK(c.semantic.feat_extract_norm == "group" && !c.semantic.do_stable_layer_norm && !c.semantic.conv_bias);
  HIGGS_CHECK(c.kernel_size == 3 && c.unit_kernel_size == 3 && c.strides.size() == 2);
}

HIGGS_TEST(config_bandwidths_decide_quantizers) {
  auto json = nlohmann::json::parse(fixture_config_text());
  json["target_bandwidths"] = {0.5, 1, 1.5, 2, 4};
  HIGGS_CHECK(parse_codec_config_json(json.dump(), "c.json").num_quantizers == 16);
  json["target_bandwidths"] = {1};
  HIGGS_CHECK(parse_codec_config_json(json.dump(), "c.json").num_quantizers == 4);
  json["codebook_dim"] = nullptr;  // transformers: None -> acoustic + semantic hidden size
  HIGGS_CHECK(parse_codec_config_json(json.dump(), "c.json").codebook_dim == 48);
}

HIGGS_TEST(config_errors_name_file_and_field) {
  auto json = nlohmann::json::parse(fixture_config_text());
  auto expect = [](const nlohmann::json& j, const std::string& needle) {
    HIGGS_CHECK_THROWS(parse_codec_config_json(j.dump(), "/x/config.json"), ErrorCode::ModelFormat, needle);
    HIGGS_CHECK_THROWS(parse_codec_config_json(j.dump(), "/x/config.json"), ErrorCode::ModelFormat, "/x/config.json");
  };
  auto j = json;
  j["acoustic_model_config"].erase("upsampling_ratios");
  expect(j, "acoustic_model_config.upsampling_ratios");
  j = json;
  j["semantic_model_config"]["conv_dim"] = "512";
  expect(j, "semantic_model_config.conv_dim");
  j = json;
  j["acoustic_model_config"]["upsampling_ratios"] = {8, 5, 4, 2, 2};
  expect(j, "hop length");
  j = json;
  j["model_type"] = "xcodec";
  expect(j, "higgs_audio_v2_tokenizer");
  j = json;
  j["model_type"] = "higgs_audio_v2";
  expect(j, "generation model");
  const nlohmann::json original = {{"n_filters", 32}, {"D", 256}, {"ratios", {8, 5, 4, 2, 3}}, {"n_q", 8},
                                   {"bins", 1024}, {"sample_rate", 24000}};
  expect(original, "scripts/convert_codec.py");
  HIGGS_CHECK_THROWS(parse_codec_config_json("{not json", "/x/config.json"), ErrorCode::ModelFormat, "invalid JSON");
}

HIGGS_TEST(original_release_directory_says_how_to_convert) {
  const std::string dir = temp_dir("codec-orig");
  write_text(dir + "/config.json", R"({"n_filters": 32, "D": 256, "n_q": 8, "ratios": [8, 5, 4, 2, 3]})");
  write_text(dir + "/model.pth", "not a safetensors file");
  HIGGS_CHECK_THROWS(CodecDecoder::load(dir), ErrorCode::ModelFormat, "scripts/convert_codec.py");
  // A converted config next to a leftover model.pth only: the weights loader gives the hint too.
  write_text(dir + "/config.json", fixture_config_text());
  HIGGS_CHECK_THROWS(CodecDecoder::load(dir), ErrorCode::ModelFormat, "scripts/convert_codec.py");
  const std::string bare = temp_dir("codec-pth-only");
  write_text(bare + "/model.pth", "x");
  HIGGS_CHECK_THROWS(load_codec_config(bare), ErrorCode::ModelFormat, "scripts/convert_codec.py");
}

// ---- weights ----

HIGGS_TEST(weight_norm_pairs_are_folded) {
  // The fixture's HuBERT positional conv is stored as parametrizations (g [1, 1, K], v): dim 2.
  const auto weights = CodecWeights::load(codec_fixture_dir());
  const std::string base = "semantic_model.encoder.pos_conv_embed.conv";
  HIGGS_CHECK(weights.has(base + ".weight") && !weights.has(base + ".parametrizations.weight.original0"));
  io::SafetensorsFile file(codec_fixture_dir() + "/model.safetensors");
  const auto g = io::tensor_from_view(file.tensors().at(base + ".parametrizations.weight.original0")).to(at::kDouble);
  const auto v = io::tensor_from_view(file.tensors().at(base + ".parametrizations.weight.original1")).to(at::kDouble);
  const auto want = g * v / v.pow(2).sum(at::IntArrayRef{0, 1}, /*keepdim=*/true).sqrt();
  check_close("pos conv weight", weights.get(base + ".weight", {32, 2, 128}), want, 1e-6);

  // Old-style weight_g / weight_v: Conv1d g [out, 1, 1]; ConvTranspose1d g [in, 1, 1] (dim 0 = input).
  at::manual_seed(3);
  const auto v_conv = at::randn({4, 3, 5});
  const auto g_conv = at::rand({4, 1, 1}) + 0.5;
  const auto v_tr = at::randn({6, 2, 4});
  const auto g_tr = at::rand({6, 1, 1}) + 0.5;
  const auto folded = CodecWeights::from_tensors(
      {{"a.weight_g", g_conv}, {"a.weight_v", v_conv}, {"a.bias", at::zeros({4})},
       {"t.parametrizations.weight.original0", g_tr}, {"t.parametrizations.weight.original1", v_tr}},
      "mem");
  check_close("conv weight_g/v", folded.get("a.weight", {4, 3, 5}),
              g_conv * v_conv / v_conv.pow(2).sum(at::IntArrayRef{1, 2}, true).sqrt(), 1e-6);
  check_close("conv_t parametrized", folded.get("t.weight", {6, 2, 4}),
              g_tr * v_tr / v_tr.pow(2).sum(at::IntArrayRef{1, 2}, true).sqrt(), 1e-6);
  HIGGS_CHECK(folded.has("a.bias") && folded.tensors().size() == 3);

  HIGGS_CHECK_THROWS(CodecWeights::from_tensors({{"a.weight_v", v_conv}}, "mem"), ErrorCode::ModelFormat,
                     "a.weight_v");
  HIGGS_CHECK_THROWS(CodecWeights::from_tensors({{"a.weight_g", at::ones({3, 1, 1})}, {"a.weight_v", v_conv}}, "mem"),
                     ErrorCode::ModelFormat, "a.weight");
}

HIGGS_TEST(missing_or_misshaped_tensors_are_named) {
  const auto config = load_codec_config(codec_fixture_dir());
  for (const std::string name :
       {"acoustic_decoder.block.2.conv_t1.weight", "acoustic_decoder.block.4.res_unit3.snake2.alpha",
        "quantizer.quantizers.3.codebook.embed", "fc2.bias", "acoustic_decoder.conv2.weight"}) {
    auto tensors = fixture_tensors();
    tensors.erase(name);
    HIGGS_CHECK_THROWS(CodecDecoder(config, CodecWeights::from_tensors(tensors, "mem.safetensors")),
                       ErrorCode::ModelFormat, "missing tensor " + name);
  }
  auto tensors = fixture_tensors();
  tensors["fc2.weight"] = at::zeros({16, 47});
  HIGGS_CHECK_THROWS(CodecDecoder(config, CodecWeights::from_tensors(tensors, "mem.safetensors")),
                     ErrorCode::ModelFormat, "fc2.weight has shape [16, 47], expected [16, 48]");
  tensors = fixture_tensors();
  tensors["acoustic_decoder.block.1.conv_t1.weight"] = at::zeros({16, 32, 10});  // [out, in, k] by mistake
  HIGGS_CHECK_THROWS(CodecDecoder(config, CodecWeights::from_tensors(tensors, "mem.safetensors")),
                     ErrorCode::ModelFormat, "acoustic_decoder.block.1.conv_t1.weight");

  // Through a real file: the error names the file and the tensor.
  const std::string dir = temp_dir("codec-missing");
  write_text(dir + "/config.json", fixture_config_text());
  tensors = fixture_tensors();
  tensors.erase("acoustic_decoder.block.0.res_unit2.conv1.bias");
  write_safetensors(dir + "/model.safetensors", tensors);
  HIGGS_CHECK_THROWS(CodecDecoder::load(dir), ErrorCode::ModelFormat, "acoustic_decoder.block.0.res_unit2.conv1.bias");
  HIGGS_CHECK_THROWS(CodecDecoder::load(dir), ErrorCode::ModelFormat, dir + "/model.safetensors");
}

HIGGS_TEST(quantizer_count_is_cross_checked) {
  auto config = load_codec_config(codec_fixture_dir());
  auto tensors = fixture_tensors();
  for (auto it = tensors.begin(); it != tensors.end();) {
    it = it->first.rfind("quantizer.quantizers.7.", 0) == 0 ? tensors.erase(it) : std::next(it);
  }
  HIGGS_CHECK_THROWS(CodecDecoder(config, CodecWeights::from_tensors(tensors, "mem")), ErrorCode::ModelFormat,
                     "num_quantizers = 8");
  config.num_quantizers = 16;
  HIGGS_CHECK_THROWS(CodecDecoder(config, CodecWeights::load(codec_fixture_dir())), ErrorCode::ModelFormat,
                     "quantizer.quantizers.{0, 1, 2, 3, 4, 5, 6, 7}");
}

// ---- parity with transformers ----

HIGGS_TEST(decode_matches_transformers_goldens) {
  const auto goldens = load_codec_goldens();
  const auto& decoder = fixture_decoder();
  for (const std::int64_t frames : {1, 7, 25}) {
    const std::string p = "decode.T" + std::to_string(frames) + ".";
    std::printf(" T=%lld\n", static_cast<long long>(frames));
    const at::Tensor codes = goldens.at(p + "codes");  // [1, 8, T]
    DecodeTrace trace;
    const at::Tensor audio = decoder.decode_batch(codes, &trace);
    check_close("rvq_sum", trace.rvq_sum, goldens.at(p + "rvq_sum"), 1e-4);
    check_close("fc2_out", trace.fc2_out, goldens.at(p + "fc2_out"), 1e-4);
    if (frames == 7) {
      check_close("dec_conv1", trace.decoder.conv1, goldens.at(p + "dec_conv1"), 1e-4);
      for (int i = 0; i < 5; ++i) {
        const std::string name = "dec_block" + std::to_string(i);
        check_close(name.c_str(), trace.decoder.blocks.at(i), goldens.at(p + name), 1e-4);
      }
    }
    // The tiny random model reaches |audio| ~ 40, where fp32 rounding through ~20 conv layers is
    // ~1e-4 absolute for transformers itself (see decode_is_as_accurate_as_transformers).
    check_close("audio", audio.unsqueeze(1), goldens.at(p + "audio"), 0, 1e-5);
    check_close("audio via decode()", decoder.decode(codes[0]), goldens.at(p + "audio").reshape({-1}), 0, 1e-5);
  }
}

// Against an fp64 decode of the same weights, our fp32 audio is as close as transformers' own fp32
// audio (the goldens): the remaining difference to the goldens is rounding noise, not math.
HIGGS_TEST(decode_is_as_accurate_as_transformers) {
  const auto goldens = load_codec_goldens();
  for (const std::int64_t frames : {1, 7, 25}) {
    const std::string p = "decode.T" + std::to_string(frames) + ".";
    const at::Tensor codes = goldens.at(p + "codes")[0];
    DecodeTrace trace64;
    fixture_decoder_fp64().decode_batch(codes.unsqueeze(0), &trace64);
    const at::Tensor exact = fixture_decoder_fp64().decode(codes);
    const double ours = max_abs_diff(fixture_decoder().decode(codes), exact);
    const double theirs = max_abs_diff(goldens.at(p + "audio").reshape({-1}), exact);
    std::printf("  T=%-3lld audio vs fp64: ours %.3g, transformers %.3g\n", static_cast<long long>(frames), ours,
                theirs);
    HIGGS_CHECK_MSG(ours <= 1.5 * theirs + 1e-5, "ours " << ours << ", transformers " << theirs);
    // The fp64 path itself agrees with every golden intermediate.
    check_close("fp64 rvq_sum", trace64.rvq_sum, goldens.at(p + "rvq_sum"), 1e-5);
    check_close("fp64 fc2_out", trace64.fc2_out, goldens.at(p + "fc2_out"), 1e-5);
  }
}

HIGGS_TEST(decode_length_is_frames_times_hop) {
  const auto& decoder = fixture_decoder();
  for (const std::int64_t frames : {1, 7, 25, 250}) {
    const at::Tensor audio = decoder.decode(random_codes(frames, 40 + frames));
    HIGGS_CHECK_MSG(audio.dim() == 1 && audio.size(0) == frames * 960, frames << " frames -> " << audio.sizes());
    HIGGS_CHECK(audio.scalar_type() == at::kFloat && audio.isfinite().all().item<bool>());
  }
  HIGGS_CHECK(decoder.decode(at::zeros({8, 0}, at::kLong)).numel() == 0);
  // int32 codes are accepted too.
  const at::Tensor codes = random_codes(3, 5);
  HIGGS_CHECK(max_abs_diff(decoder.decode(codes.to(at::kInt)), decoder.decode(codes)) == 0.0);
}

// ---- windowed and streaming decode ----

HIGGS_TEST(window_decode_equals_whole_decode) {
  const auto& decoder = fixture_decoder();
  HIGGS_CHECK_MSG(decoder.context_frames() == 10, decoder.context_frames());
  const std::int64_t frames = 64;
  const at::Tensor codes = random_codes(frames, 11);
  const at::Tensor whole = decoder.decode(codes);
  const at::Tensor whole64 = fixture_decoder_fp64().decode(codes);
  const double scale = whole.abs().max().item<double>();
  const std::vector<std::pair<std::int64_t, std::int64_t>> windows = {
      {0, 1}, {0, 5}, {0, 64}, {3, 17}, {10, 11}, {20, 45}, {31, 32}, {50, 64}, {63, 64}, {54, 59}};
  double worst = 0, worst64 = 0;
  for (const auto& [begin, end] : windows) {
    for (const std::int64_t context : {-1, 10, 13}) {
      const at::Tensor part = decoder.decode_window(codes, begin, end, context);
      const at::Tensor want = whole.narrow(0, begin * 960, (end - begin) * 960);
      HIGGS_CHECK_MSG(part.sizes() == want.sizes(), "[" << begin << ", " << end << ") " << part.sizes());
      if (part.sizes() != want.sizes()) continue;
      // fp32: only conv rounding differs (other lengths, other blocking): 1e-5 of the amplitude.
      const double err = max_abs_diff(part, want);
      worst = std::max(worst, err);
      HIGGS_CHECK_MSG(err <= 1e-5 * scale, "[" << begin << ", " << end << ") context " << context << ": " << err);
      // fp64: the window is exact, so the difference vanishes.
      const at::Tensor part64 = fixture_decoder_fp64().decode_window(codes, begin, end, context);
      const double err64 = max_abs_diff(part64, whole64.narrow(0, begin * 960, (end - begin) * 960));
      worst64 = std::max(worst64, err64);
      HIGGS_CHECK_MSG(err64 < 1e-9, "fp64 [" << begin << ", " << end << ") context " << context << ": " << err64);
    }
  }
  std::printf("  window vs whole: worst max|diff| fp32 %.3g, fp64 %.3g (audio absmax %.3g)\n", worst, worst64, scale);
  HIGGS_CHECK(decoder.decode_window(codes, 7, 7).numel() == 0);
  HIGGS_CHECK_THROWS(decoder.decode_window(codes, 5, 9, 9), ErrorCode::Input, "receptive field");
  HIGGS_CHECK_THROWS(decoder.decode_window(codes, 5, 65), ErrorCode::Input, "window");
  HIGGS_CHECK_THROWS(decoder.decode_window(codes, 9, 5), ErrorCode::Input, "window");
}

HIGGS_TEST(ten_frames_of_context_are_needed_and_enough) {
  // In fp64, frame 20 decoded from a slice with c frames of context on one side (and plenty on
  // the other) is exact for c = 10 and not for c = 9, on either side.
  const auto& decoder = fixture_decoder_fp64();
  const at::Tensor codes = random_codes(41, 12);
  const at::Tensor want = decoder.decode(codes).narrow(0, 20 * 960, 960);
  for (const std::int64_t c : {9, 10}) {
    const at::Tensor left = decoder.decode(codes.narrow(1, 20 - c, 21 + c)).narrow(0, c * 960, 960);
    const at::Tensor right = decoder.decode(codes.narrow(1, 0, 21 + c)).narrow(0, 20 * 960, 960);
    const double err_left = max_abs_diff(left, want), err_right = max_abs_diff(right, want);
    std::printf("  context %lld: left %.3g, right %.3g\n", static_cast<long long>(c), err_left, err_right);
    HIGGS_CHECK(c == 10 ? err_left < 1e-9 : err_left > 1e-6);
    HIGGS_CHECK(c == 10 ? err_right < 1e-9 : err_right > 1e-6);
  }
}

// Decodes `codes` as lib/speech/stream.ts does while frames arrive in uneven pieces (some empty): each
// frame range with `context` frames of right context (all of them at the end), at most
// `max_window` frames a call, as a window of a slice holding the window and its context; the
// pieces joined.
at::Tensor decode_as_stream(const CodecDecoder& decoder, const at::Tensor& codes, std::int64_t max_window) {
  const std::int64_t context = decoder.context_frames();
  std::vector<at::Tensor> pieces;
  std::int64_t available = 0, decoded = 0;
  for (const std::int64_t n : {1, 3, 0, 7, 12, 1, 1, 20, 5, 7, 0}) {
    available += n;
    const bool done = available == codes.size(1);
    for (;;) {
      const std::int64_t ready = done ? available : available - context;
      if (ready <= decoded) break;
      const std::int64_t end = std::min(ready, decoded + max_window);
      const std::int64_t from = std::max<std::int64_t>(0, decoded - context), to = std::min(available, end + context);
      pieces.push_back(decoder.decode_window(codes.narrow(1, from, to - from), decoded - from, end - from));
      HIGGS_CHECK(pieces.back().numel() == (end - decoded) * 960);
      decoded = end;
    }
  }
  HIGGS_CHECK(available == codes.size(1) && decoded == available);
  return at::cat(pieces);
}

HIGGS_TEST(streamed_windows_equal_whole_decode) {
  const at::Tensor codes = random_codes(57, 13);
  const at::Tensor whole = fixture_decoder().decode(codes);
  const at::Tensor whole64 = fixture_decoder_fp64().decode(codes);
  const double scale = whole.abs().max().item<double>();
  for (const std::int64_t max_window : {250, 4}) {
    const at::Tensor joined = decode_as_stream(fixture_decoder(), codes, max_window);
    const at::Tensor joined64 = decode_as_stream(fixture_decoder_fp64(), codes, max_window);
    HIGGS_CHECK_MSG(joined.sizes() == whole.sizes() && joined64.sizes() == whole.sizes(), joined.sizes());
    if (joined.sizes() != whole.sizes() || joined64.sizes() != whole.sizes()) continue;
    const double err = max_abs_diff(joined, whole), err64 = max_abs_diff(joined64, whole64);
    std::printf("  streamed windows (at most %lld frames) vs whole: max|diff| fp32 %.3g, fp64 %.3g (absmax %.3g)\n",
                static_cast<long long>(max_window), err, err64, scale);
    HIGGS_CHECK(err <= 1e-5 * scale);
    HIGGS_CHECK(err64 < 1e-9);
  }
}

// ---- bad inputs ----

HIGGS_TEST(bad_codes_are_input_errors) {
  const auto& decoder = fixture_decoder();
  at::Tensor codes = random_codes(6, 14);
  codes[2][4] = 1024;
  HIGGS_CHECK_THROWS(decoder.decode(codes), ErrorCode::Input, "value 1024 at [2, 4]");
  codes[2][4] = -1;
  HIGGS_CHECK_THROWS(decoder.decode(codes), ErrorCode::Input, "outside 0..1023");
  HIGGS_CHECK_THROWS(decoder.decode_window(codes, 0, 2), ErrorCode::Input, "outside");
  HIGGS_CHECK_THROWS(decoder.decode(random_codes(6, 1).narrow(0, 0, 7)), ErrorCode::Input, "7 codebooks");
  HIGGS_CHECK_THROWS(decoder.decode(at::zeros({9, 4}, at::kLong)), ErrorCode::Input, "codebooks");
  HIGGS_CHECK_THROWS(decoder.decode(at::zeros({8, 4})), ErrorCode::Input, "integer");
  HIGGS_CHECK_THROWS(decoder.decode(at::zeros({1, 8, 4}, at::kLong)), ErrorCode::Input, "[codebooks, frames]");
  HIGGS_CHECK_THROWS(decoder.decode(at::Tensor()), ErrorCode::Input, "no tensor");
  HIGGS_CHECK_THROWS(decoder.decode_batch(at::zeros({8, 4}, at::kLong)), ErrorCode::Input,
                     "[batch, codebooks, frames]");
}

