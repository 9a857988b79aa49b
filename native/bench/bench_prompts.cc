#include "bench_prompts.h"

namespace higgs::bench {
namespace {

constexpr std::int32_t kAudioOut = 128016;     // <|AUDIO_OUT|>
constexpr std::int32_t kAudioOutBos = 128013;  // <|audio_out_bos|>
constexpr std::int32_t kAudioEos = 128012;     // <|audio_eos|>

void add_text(GenerateRequest& r, std::int64_t n, std::int32_t first_id) {
  for (std::int64_t i = 0; i < n; ++i) {
    r.input_ids.push_back(first_id + static_cast<std::int32_t>(i % 5000));
    r.audio_mask.push_back(0);
  }
}

void add_audio(GenerateRequest& r, std::int64_t frames, std::int64_t codebooks) {
  for (std::int64_t i = 0; i < frames; ++i) {
    r.input_ids.push_back(kAudioOut);
    r.audio_mask.push_back(1);
    for (std::int64_t k = 0; k < codebooks; ++k) r.audio_codes.push_back(static_cast<std::int32_t>((i * 31 + k * 7) % 1024));
  }
}

void sampled(GenerateRequest& r, std::uint64_t seed) {
  r.temperature = 1.0;
  r.top_k = 50;
  r.top_p = 0.95;
  r.seed = seed;
}

}  // namespace

GenerateRequest mixed_prompt(std::int64_t length, std::int64_t codebooks, std::uint64_t seed) {
  GenerateRequest r;
  add_text(r, length / 2, 1000);
  add_audio(r, length - length / 2, codebooks);
  sampled(r, seed);
  return r;
}

GenerateRequest voice_prompt(std::int64_t voice_seconds, std::int64_t codebooks, std::uint64_t seed) {
  GenerateRequest r;
  add_text(r, 32, 2000);  // system prompt, user turn with the reference transcript
  add_audio(r, 25 * voice_seconds, codebooks);
  r.input_ids.push_back(kAudioEos);
  r.audio_mask.push_back(0);
  add_text(r, 24, 3000);  // the target text and the assistant header
  r.input_ids.push_back(kAudioOutBos);
  r.audio_mask.push_back(0);
  sampled(r, seed);
  return r;
}

}  // namespace higgs::bench
