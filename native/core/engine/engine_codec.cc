// The Engine's codec jobs: load the audio tokenizer, decode codes to a waveform (whole or a
// window, for streaming), encode reference audio to codes. Same thread and error rules as the LM.
#include "codec/codec_encoder_load.h"
#include "codec/codec_random.h"
#include "codec/codec_weights.h"
#include "engine/engine.h"
#include "engine/engine_state.h"

namespace higgs {

using namespace engine_detail;

namespace {

at::Tensor codes_tensor(const std::vector<std::int32_t>& codes, std::int64_t frames, std::int64_t quantizers) {
  if (frames < 0 || static_cast<std::int64_t>(codes.size()) != quantizers * frames) {
    throw HiggsError(ErrorCode::Input, "codes must hold " + std::to_string(quantizers) + " x frames values (got " +
                                           std::to_string(codes.size()) + " for " + std::to_string(frames) + " frames)");
  }
  return at::tensor(at::ArrayRef<std::int32_t>(codes), at::kInt).to(at::kLong).view({quantizers, frames});
}

std::vector<float> to_samples(const at::Tensor& wave) {
  auto host = wave.to(at::kCPU, at::kFloat).contiguous();
  return {host.data_ptr<float>(), host.data_ptr<float>() + host.numel()};
}

// Engine::State is private to the Engine: these helpers take it as a deduced type.
template <typename State>
void drop_codec(State* s) {
  s->decoder.reset();
  s->encoder.reset();
  std::lock_guard<std::mutex> lock(s->info_mutex);
  s->codec_info.reset();
}

// fp32 on the engine's device whatever the LM dtype; TF32 would flip near-tie RVQ codes.
template <typename State>
at::TensorOptions codec_options(const State* s) {
  auto options = s->tensor_options().dtype(at::kFloat);
  if (options.device().is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  return options;
}

template <typename State>
CodecInfo install_codec(State* s, std::unique_ptr<codec::CodecDecoder> decoder,
                        std::unique_ptr<codec::CodecEncoder> encoder, std::string codec_dir, Clock::time_point start) {
  CodecInfo info;
  info.codec_dir = std::move(codec_dir);
  info.sample_rate = decoder->sample_rate();
  info.samples_per_frame = decoder->samples_per_frame();
  info.num_quantizers = decoder->config().num_quantizers;
  info.codebook_size = decoder->config().codebook_size;
  info.context_frames = decoder->context_frames();
  info.can_encode = encoder != nullptr;
  info.load_seconds = seconds_since(start);
  s->decoder = std::move(decoder);
  s->encoder = std::move(encoder);
  std::lock_guard<std::mutex> lock(s->info_mutex);
  s->codec_info = std::make_unique<CodecInfo>(info);
  return info;
}

}  // namespace

void Engine::load_codec(std::string codec_dir, CodecDone done) {
  state_->post_codec([s = state_.get(), codec_dir, done] {
    const auto start = Clock::now();
    try {
      drop_codec(s);
      c10::InferenceMode guard;
      const auto options = codec_options(s);
      auto config = codec::load_codec_config(codec_dir);
      auto weights = codec::CodecWeights::load(codec_dir, options, [](const std::string& name) {
        return codec::is_decoder_tensor(name) || codec::is_encoder_tensor(name);
      });
      auto decoder = std::make_unique<codec::CodecDecoder>(config, weights);
      auto encoder = std::make_unique<codec::CodecEncoder>(codec::make_codec_encoder(config, weights, options));
      const CodecInfo info = install_codec(s, std::move(decoder), std::move(encoder), codec_dir, start);
      done(nullptr, &info);
    } catch (...) {
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::load_random_codec(std::uint64_t seed, CodecDone done) {
  state_->post_codec([s = state_.get(), seed, done] {
    const auto start = Clock::now();
    try {
      drop_codec(s);
      c10::InferenceMode guard;
      const auto options = codec_options(s);
      auto config = codec::higgs_v2_codec_config();
      auto decoder = std::make_unique<codec::CodecDecoder>(config, codec::random_decoder_weights(config, seed, options));
      const CodecInfo info = install_codec(s, std::move(decoder), nullptr, "random", start);
      done(nullptr, &info);
    } catch (...) {
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::decode_audio(std::vector<std::int32_t> codes, std::int64_t frames, DecodeDone done) {
  decode_audio_window(std::move(codes), frames, 0, frames, std::move(done));
}

void Engine::decode_audio_window(std::vector<std::int32_t> codes, std::int64_t frames, std::int64_t begin,
                                 std::int64_t end, DecodeDone done) {
  state_->post_codec([s = state_.get(), codes = std::move(codes), frames, begin, end, done] {
    try {
      if (!s->decoder) throw HiggsError(ErrorCode::NotLoaded, "no audio codec is loaded");
      if (begin < 0 || end < begin || end > frames) {
        throw HiggsError(ErrorCode::Input, "decode window [" + std::to_string(begin) + ", " + std::to_string(end) +
                                               ") is outside the " + std::to_string(frames) + " frames");
      }
      c10::InferenceMode guard;
      auto tensor = codes_tensor(codes, frames, s->decoder->config().num_quantizers);
      auto wave = begin == 0 && end == frames ? s->decoder->decode(tensor) : s->decoder->decode_window(tensor, begin, end);
      auto samples = to_samples(wave);
      done(nullptr, &samples);
    } catch (...) {
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::encode_audio(std::vector<float> samples, EncodeDone done) {
  state_->post_codec([s = state_.get(), samples = std::move(samples), done] {
    try {
      if (!s->encoder) {
        throw HiggsError(ErrorCode::NotLoaded, s->decoder ? "the loaded audio codec (random weights) has no encoder"
                                                          : "no audio codec is loaded");
      }
      c10::InferenceMode guard;
      auto wave = at::tensor(at::ArrayRef<float>(samples), at::kFloat);
      auto codes = s->encoder->encode(wave).to(at::kCPU, at::kLong).contiguous();
      const auto frames = codes.size(1);
      auto as_int = codes.to(at::kInt).contiguous();
      std::vector<std::int32_t> flat(as_int.data_ptr<std::int32_t>(), as_int.data_ptr<std::int32_t>() + as_int.numel());
      done(nullptr, &flat, frames);
    } catch (...) {
      done(as_higgs_error(std::current_exception()), nullptr, 0);
    }
  });
}

CodecInfo Engine::codec_info() const {
  std::lock_guard<std::mutex> lock(state_->info_mutex);
  if (!state_->codec_info) throw HiggsError(ErrorCode::NotLoaded, "no audio codec is loaded");
  return *state_->codec_info;
}

}  // namespace higgs
