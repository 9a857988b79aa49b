// The random codec of the real Higgs Audio V2 tokenizer shape (higgs-bench's codec timings): the
// built-in config, loading through the Engine, determinism for a seed, decode lengths and finite
// output, windowed decode == the same samples of a whole decode. HIGGS_TEST_DEVICE picks the
// device (default cpu).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "codec/codec_decoder.h"
#include "codec/codec_random.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"

using namespace higgs;

namespace {

EngineOptions codec_engine_options() {
  EngineOptions options;
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  if (env && *env) options.device = env;
  options.dtype = options.device == "cpu" ? "float32" : "bfloat16";  // the codec runs in fp32 anyway
  return options;
}

std::vector<std::int32_t> codes_for(std::int64_t frames, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> code(0, 1023);
  std::vector<std::int32_t> codes(static_cast<size_t>(8 * frames));
  for (auto& v : codes) v = code(rng);
  return codes;
}

// Frames [from, to) of codebook-major codes [8][frames].
std::vector<std::int32_t> slice_codes(const std::vector<std::int32_t>& codes, std::int64_t frames, std::int64_t from,
                                      std::int64_t to) {
  std::vector<std::int32_t> out;
  for (std::int64_t k = 0; k < 8; ++k) {
    out.insert(out.end(), codes.begin() + k * frames + from, codes.begin() + k * frames + to);
  }
  return out;
}

double absmax(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

double max_diff(const std::vector<float>& a, const float* b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

HIGGS_TEST(builtin_config_is_the_real_tokenizer_shape) {
  const codec::CodecConfig c = codec::higgs_v2_codec_config();
  HIGGS_CHECK(c.sample_rate == 24000 && c.hop_length == 960 && c.frame_rate == 25 && c.samples_per_frame() == 960);
  HIGGS_CHECK_MSG(c.num_quantizers == 8, c.num_quantizers);
  HIGGS_CHECK(c.codebook_size == 1024 && c.codebook_dim == 64 && c.codebook_nbits == 10);
  HIGGS_CHECK(c.hidden_size == 1024 && c.semantic_downsample_factor == 2);
  HIGGS_CHECK(c.acoustic.decoder_hidden_size == 1024 && c.acoustic.hidden_size == 256 &&
              c.acoustic.encoder_hidden_size == 64);
  HIGGS_CHECK((c.acoustic.upsampling_ratios == std::vector<std::int64_t>{8, 5, 4, 2, 3}));
  HIGGS_CHECK(c.semantic.hidden_size == 768 && c.semantic.num_hidden_layers == 12 && c.semantic.conv_dim.size() == 7);
  HIGGS_CHECK(c.source == "builtin:higgs-audio-v2-tokenizer");
}

HIGGS_TEST(random_weights_have_the_checkpoint_names_and_shapes) {
  const codec::CodecConfig c = codec::higgs_v2_codec_config();
  const auto weights = codec::random_decoder_weights(c, 1, at::TensorOptions().dtype(at::kBFloat16));
  // Decode tensors only, stored like a transformers checkpoint (every one a decoder tensor).
  std::int64_t params = 0;
  for (const auto& [name, tensor] : weights.tensors()) {
    HIGGS_CHECK_MSG(codec::is_decoder_tensor(name), name);
    HIGGS_CHECK_MSG(tensor.scalar_type() == at::kFloat, name << " is " << tensor.scalar_type());
    params += tensor.numel();
  }
  HIGGS_CHECK(weights.get("quantizer.quantizers.7.codebook.embed").sizes() == at::IntArrayRef({1024, 64}));
  HIGGS_CHECK(weights.get("acoustic_decoder.block.0.conv_t1.weight").sizes() == at::IntArrayRef({1024, 512, 16}));
  HIGGS_CHECK(weights.get("acoustic_decoder.conv2.weight").sizes() == at::IntArrayRef({1, 32, 7}));
  std::printf("  random decoder parameters: %.2f M\n", static_cast<double>(params) / 1e6);
  codec::CodecDecoder decoder(c, weights);  // every shape checked against the config
  HIGGS_CHECK(decoder.context_frames() == 10);
}

HIGGS_TEST(random_codec_loads_through_the_engine) {
  Engine engine(codec_engine_options());
  const CodecInfo info = load_random_codec_sync(engine, 42);
  HIGGS_CHECK(info.codec_dir == "random" && !info.can_encode);
  HIGGS_CHECK(info.sample_rate == 24000 && info.samples_per_frame == 960);
  HIGGS_CHECK(info.num_quantizers == 8 && info.codebook_size == 1024 && info.context_frames == 10);
  HIGGS_CHECK(info.load_seconds > 0);
  HIGGS_CHECK(engine.codec_info().codec_dir == "random");

  const std::int64_t frames = 7;
  const auto samples = decode_audio_sync(engine, codes_for(frames, 1), frames);
  HIGGS_CHECK_MSG(static_cast<std::int64_t>(samples.size()) == frames * 960, samples.size());
  HIGGS_CHECK(std::all_of(samples.begin(), samples.end(), [](float x) { return std::isfinite(x); }));
  const double peak = absmax(samples);
  std::printf("  7 frames: absmax %.3g\n", peak);
  HIGGS_CHECK_MSG(peak > 1e-3 && peak < 1e4, peak);
  HIGGS_CHECK(decode_audio_sync(engine, {}, 0).empty());

  HIGGS_CHECK_THROWS(encode_audio_sync(engine, std::vector<float>(960, 0.f), nullptr), ErrorCode::NotLoaded,
                     "no encoder");
  HIGGS_CHECK_THROWS(decode_audio_sync(engine, std::vector<std::int32_t>(8, 1024), 1), ErrorCode::Input, "1024");
}

HIGGS_TEST(random_codec_is_deterministic_for_a_seed) {
  const std::int64_t frames = 5;
  const auto codes = codes_for(frames, 2);
  Engine a(codec_engine_options()), b(codec_engine_options());
  load_random_codec_sync(a, 7);
  load_random_codec_sync(b, 7);
  const auto first = decode_audio_sync(a, codes, frames);
  const auto again = decode_audio_sync(a, codes, frames);
  const auto other_engine = decode_audio_sync(b, codes, frames);
  HIGGS_CHECK(first.size() == again.size() && first.size() == other_engine.size());
  if (codec_engine_options().device == "cpu") {
    HIGGS_CHECK(first == again && first == other_engine);  // bit for bit
  } else {  // a CUDA conv algorithm may round differently from run to run
    HIGGS_CHECK_MSG(max_diff(first, again.data()) <= 1e-6 * absmax(first), max_diff(first, again.data()));
    HIGGS_CHECK_MSG(max_diff(first, other_engine.data()) <= 1e-6 * absmax(first), max_diff(first, other_engine.data()));
  }
  load_random_codec_sync(b, 8);  // replaces the codec
  const auto other_seed = decode_audio_sync(b, codes, frames);
  HIGGS_CHECK(other_seed.size() == first.size());
  HIGGS_CHECK_MSG(max_diff(first, other_seed.data()) > 1e-2 * absmax(first), "seed 8 decodes like seed 7");
}

HIGGS_TEST(random_codec_window_equals_whole_decode) {
  Engine engine(codec_engine_options());
  const CodecInfo info = load_random_codec_sync(engine, 3);
  const std::int64_t frames = 40, context = info.context_frames, spf = info.samples_per_frame;
  const auto codes = codes_for(frames, 3);
  const auto whole = decode_audio_sync(engine, codes, frames);
  HIGGS_CHECK(static_cast<std::int64_t>(whole.size()) == frames * spf);
  const double scale = absmax(whole);
  double worst = 0;
  const std::vector<std::pair<std::int64_t, std::int64_t>> windows = {{0, 8}, {8, 16}, {13, 27}, {16, 40}, {39, 40}};
  for (const auto& [begin, end] : windows) {
    // The whole code sequence with a window, and the slice lib/speech/stream.ts sends (window + context).
    const auto part = decode_audio_window_sync(engine, codes, frames, begin, end);
    const std::int64_t from = std::max<std::int64_t>(0, begin - context), to = std::min(frames, end + context);
    const auto sliced =
        decode_audio_window_sync(engine, slice_codes(codes, frames, from, to), to - from, begin - from, end - from);
    for (const auto* got : {&part, &sliced}) {
      HIGGS_CHECK_MSG(static_cast<std::int64_t>(got->size()) == (end - begin) * spf, got->size());
      if (static_cast<std::int64_t>(got->size()) != (end - begin) * spf) continue;
      // fp32: only conv rounding differs (other lengths, other blocking): 1e-5 of the amplitude on
      // the CPU; cuDNN picks other algorithms per length (1.2e-5 seen on an H200): 1e-4 there.
      const double err = max_diff(*got, whole.data() + begin * spf);
      worst = std::max(worst, err);
      const double tolerance = codec_engine_options().device == "cpu" ? 1e-5 : 1e-4;
      HIGGS_CHECK_MSG(err <= tolerance * scale, "[" << begin << ", " << end << "): " << err << " (absmax " << scale << ")");
    }
  }
  std::printf("  window vs whole: worst max|diff| %.3g (audio absmax %.3g)\n", worst, scale);
  HIGGS_CHECK_THROWS(decode_audio_window_sync(engine, codes, frames, 30, 41), ErrorCode::Input, "window");
}

HIGGS_TEST(a_checkpoint_codec_replaces_the_random_one) {
  Engine engine(codec_engine_options());
  load_random_codec_sync(engine, 1);
  const std::string dir = std::string(HIGGS_SOURCE_DIR) + "/test/fixtures/goldens/codec";
  const CodecInfo info = load_codec_sync(engine, dir);
  HIGGS_CHECK(info.codec_dir == dir && info.can_encode && info.num_quantizers == 8);
  HIGGS_CHECK(engine.codec_info().can_encode);
  std::int64_t frames = 0;
  const auto codes = encode_audio_sync(engine, std::vector<float>(960 * 3, 0.1f), &frames);
  HIGGS_CHECK_MSG(frames == 3 && codes.size() == 8 * 3, frames);
  // A failed load leaves no codec behind, random or not.
  load_random_codec_sync(engine, 1);
  HIGGS_CHECK_THROWS(load_codec_sync(engine, "/nonexistent/codec"), ErrorCode::ModelFormat, "/nonexistent/codec");
  HIGGS_CHECK_THROWS(engine.codec_info(), ErrorCode::NotLoaded, "no audio codec");
}
