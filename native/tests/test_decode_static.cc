// The static (graph-safe) decode path against the eager one on the CPU: KV buckets, the sampler
// with settings in device buffers, the device-side delay pattern and RAS, whole generations, and
// the engine's decode modes. On CUDA (HIGGS_TEST_DEVICE=cuda) the engine tests run the captured
// graphs as well.
#include <ATen/ATen.h>

#include <cstdlib>
#include <set>

#include "check.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"
#include "lm/decode_runner.h"
#include "lm/generator.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

at::Tensor step_tensor(std::int64_t step, const at::Device& device) {
  return at::full({1}, step, at::TensorOptions().dtype(at::kLong).device(device));
}

// A prompt with text, an audio-out clip (RAS context) and a text tail.
LmInput prompt_with_audio(std::int64_t frames) {
  const std::int64_t text = 5, tail = 3, L = text + frames + tail;
  LmInput in;
  in.input_ids = at::randint(0, 500, {L}, at::kLong);
  in.audio_mask = at::zeros({L}, at::kBool);
  in.audio_mask.narrow(0, text, frames).fill_(true);
  in.input_ids.narrow(0, text, frames).fill_(128016);  // audio-out placeholder id (not audio-in)
  in.audio_codes = at::randint(0, 1024, {frames, 8}, at::kLong);
  // Repeat one column so that RAS has something to count.
  in.audio_codes.narrow(0, frames - 3, 3).copy_(in.audio_codes.narrow(0, 0, 1).expand({3, 8}));
  return in;
}

GenerationInput make_input(const LmInput& prompt, SamplingParams p, std::int64_t max_frames) {
  GenerationInput input;
  input.prompt = prompt;
  input.sampling = p;
  input.max_frames = max_frames;
  return input;
}

}  // namespace

HIGGS_TEST(kv_buckets_are_powers_of_two_up_to_max_context) {
  HIGGS_CHECK((kv_buckets(4096) == std::vector<std::int64_t>{256, 512, 1024, 2048, 4096}));
  HIGGS_CHECK((kv_buckets(3000) == std::vector<std::int64_t>{256, 512, 1024, 2048, 3000}));
  HIGGS_CHECK((kv_buckets(100) == std::vector<std::int64_t>{100}));
  const auto b = kv_buckets(1024);
  HIGGS_CHECK(bucket_for(b, 0) == 0 && bucket_for(b, 255) == 0 && bucket_for(b, 256) == 1);
  HIGGS_CHECK(bucket_for(b, 1023) == 2);
  HIGGS_CHECK_THROWS(bucket_for(b, 1024), ErrorCode::Input, "past max_context");
}

// The two samplers that run on the CPU (lm/sampling.cc, the eager one, and lm/static_sampling.cc,
// the graph-safe one) draw the same tokens for the same logits, seed, step and settings: greedy,
// temperature, top-k, top-p and their mixes. On CUDA both draw through the fused kernel, which
// test_fused_kernels.cc holds to the tensor ops.
HIGGS_TEST(static_sampler_draws_the_eager_samplers_tokens) {
  const auto device = test_options().device();
  at::manual_seed(3);
  auto logits = (at::randn({8, 1026}) * 3).to(device);
  logits.narrow(1, 10, 4).fill_(5.0);  // ties at the top
  std::vector<SamplingParams> table = {
      {0.0, 0, 1.0}, {1.0, 0, 1.0}, {0.7, 0, 1.0}, {1.0, 5, 1.0}, {1.0, 0, 0.9}, {0.8, 50, 0.95},
      {1.3, 4000, 0.5}, {1.0, 1026, 1.0}, {0.5, 1, 0.3}, {0.0, 5, 0.9},  // greedy ignores top-k / top-p
  };
  SamplerBuffers buffers(device);
  for (std::size_t t = 0; t < table.size(); ++t) {
    auto p = table[t];
    p.seed = 1000 + t * 7919;
    buffers.set(p);
    for (std::int64_t step = 1; step <= 12; ++step) {
      auto s = step_tensor(step, device);
      HIGGS_CHECK_MSG(at::equal(static_sample_rows(logits, buffers, s), sample_rows(logits, p, step)),
                      "settings " << t << " step " << step);
      HIGGS_CHECK_MSG(at::equal(static_resample_raw(logits, buffers, s), resample_raw(logits, p, step)),
                      "resample, settings " << t << " step " << step);
    }
  }
}

// A draw's counter base hashed on the device (a DecodeState row's seed and step) equals the
// host's draw_base, for steps and seeds across the 32-bit range.
HIGGS_TEST(device_draw_bases_equal_the_host_ones) {
  const auto device = test_options().device();
  std::vector<std::int64_t> seeds, steps;
  for (std::uint64_t seed : {0ull, 1ull, 77ull, 0xFFFFFFFFull, 0x123456789ABCull}) {
    for (std::int64_t step : {0ll, 1ll, 2ll, 4095ll, 0xFFFFFFFFll}) {
      seeds.push_back(static_cast<std::int64_t>(seed_base(seed)));
      steps.push_back(step);
    }
  }
  const auto on = [&](const std::vector<std::int64_t>& v) { return at::tensor(v, at::kLong).to(device); };
  for (auto stream : {NoiseStream::Sample, NoiseStream::RasResample}) {
    auto bases = draw_bases(on(seeds), on(steps), stream).to(at::kCPU);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      const auto want = draw_base(static_cast<std::uint32_t>(seeds[i]), steps[i], stream);
      HIGGS_CHECK_MSG(bases[static_cast<std::int64_t>(i)].item<std::int64_t>() == static_cast<std::int64_t>(want), "case " << i);
    }
  }
}

HIGGS_TEST(device_delay_pattern_matches_the_host_one) {
  auto c = small_config();
  const auto device = test_options().device();
  const std::int64_t K = 8, V = c.codebook_vocab, eos = c.audio_stream_eos_id;
  // Scenarios: where (step, codebook) the first eos is sampled; -1 = never.
  for (auto [eos_step, eos_book] : std::vector<std::pair<int, int>>{{12, 3}, {3, 0}, {2, 5}, {20, 7}, {-1, 0}}) {
    DecodeState state(c, 64, device);
    SamplingParams greedy;
    greedy.temperature = 0;
    greedy.ras_window = 0;
    state.reset(greedy, {}, 0);
    DelayPattern host(K, c.audio_stream_bos_id, eos);
    at::manual_seed(eos_step + 100);
    std::vector<Column> expected{host.first_column()};
    std::int64_t end = -1;
    for (int step = 1; step < 40 && end < 0; ++step) {
      auto codes = at::randint(0, 1024, {K}, at::kLong);
      if (step == eos_step) codes[eos_book] = eos;
      Column column(codes.data_ptr<std::int64_t>(), codes.data_ptr<std::int64_t>() + K);
      // Greedy on one-hot logits picks exactly these codes.
      auto logits = at::zeros({K, V}).scatter_(1, codes.view({K, 1}), 1.0).to(device);
      state.advance(logits);
      if (host.apply(column)) end = step;
      expected.push_back(column);
    }
    const auto produced = static_cast<std::int64_t>(expected.size());
    HIGGS_CHECK(state.columns(0, produced) == expected);
    HIGGS_CHECK_MSG(state.done() == (end >= 0), "scenario " << eos_step << "/" << eos_book);
    if (end >= 0) HIGGS_CHECK_MSG(state.end_column() == end, state.end_column() << " vs " << end);
  }
}

HIGGS_TEST(static_generation_equals_eager_generation) {
  auto model = small_model(7, 256);
  DecodeRunner runner(model, false);
  at::manual_seed(11);
  const auto prompt = prompt_with_audio(20);
  std::vector<SamplingParams> table = {
      {1.0, 50, 0.95, 7, 2, 1}, {0.0, 0, 1.0, 7, 2, 5}, {0.7, 0, 1.0, 0, 2, 9}, {1.2, 20, 0.8, 16, 3, 77},
  };
  for (std::size_t t = 0; t < table.size(); ++t) {
    const auto input = make_input(prompt, table[t], 60);
    std::vector<Column> streamed_eager, streamed_static;
    GenerationCallbacks eager_cb, static_cb;
    eager_cb.stream_every = static_cb.stream_every = 3;
    eager_cb.on_frames = [&](const std::vector<Column>& f, std::int64_t) { streamed_eager.insert(streamed_eager.end(), f.begin(), f.end()); };
    static_cb.on_frames = [&](const std::vector<Column>& f, std::int64_t) { streamed_static.insert(streamed_static.end(), f.begin(), f.end()); };
    auto eager = generate(model, input, eager_cb);
    auto fast = generate(model, input, static_cb, &runner);
    HIGGS_CHECK_MSG(eager.columns == fast.columns, "settings " << t);
    HIGGS_CHECK(eager.codes == fast.codes && eager.stop == fast.stop);
    HIGGS_CHECK(streamed_eager == streamed_static && static_cast<std::int64_t>(streamed_static.size()) == fast.frames);
  }
}

HIGGS_TEST(static_ras_redraws_like_the_eager_one) {
  // A model whose logits never change (constant embeddings, layers that add nothing): greedy
  // picks the same column every step, so RAS fires as soon as the window holds it max_repeats
  // times; the prompt's audio-out clip already holds it once.
  auto c = small_config();
  auto options = test_options();
  HiggsLM model(c, constant_step_weights(c, 9, options), 128, options);
  DecodeRunner runner(model, false);
  for (std::int64_t repeats : {1, 2, 3}) {
    SamplingParams p;
    p.temperature = 0;
    p.ras_window = 5;
    p.ras_max_repeats = repeats;
    p.seed = 3 + repeats;
    auto eager = generate(model, make_input(prompt_with_audio(6), p, 30), {});
    auto fast = generate(model, make_input(prompt_with_audio(6), p, 30), {}, &runner);
    HIGGS_CHECK_MSG(eager.columns == fast.columns, "max_repeats " << repeats);
    // RAS really fired: greedy alone would repeat one column; the redraws vary it.
    std::set<Column> distinct(fast.columns.begin() + 8, fast.columns.end());
    HIGGS_CHECK_MSG(distinct.size() > 1, "max_repeats " << repeats);
  }
}

HIGGS_TEST(static_generation_stops_like_the_eager_one) {
  // The always-eos model of test_generation_loop: the ramp-out ends at column 8, which is not a
  // multiple of the host's check interval, so steps past the end must be dropped.
  auto c = small_config();
  auto options = test_options();
  HiggsLM model(c, always_eos_weights(c, 5, options), 64, options);
  DecodeRunner runner(model, false);
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.ras_window = 0;
  const auto prompt = short_prompt();
  auto out = generate(model, make_input(prompt, greedy, 100), {}, &runner);
  HIGGS_CHECK_MSG(out.stop == StopReason::AudioEnd, stop_reason_name(out.stop));
  HIGGS_CHECK_MSG(out.columns.size() == 9, "columns " << out.columns.size());
  HIGGS_CHECK(out.columns == generate(model, make_input(prompt, greedy, 100), {}).columns);

  // The KV cache bounds it the same way: 6 prompt positions + 14 decode positions.
  auto small = small_model(7, 20);
  DecodeRunner small_runner(small, false);
  SamplingParams sampled;
  sampled.seed = 1;
  auto bounded = generate(small, make_input(prompt, sampled, 1000), {}, &small_runner);
  HIGGS_CHECK_MSG(bounded.stop == StopReason::ContextFull, stop_reason_name(bounded.stop));
  HIGGS_CHECK_MSG(bounded.columns.size() == 15, "columns " << bounded.columns.size());
  HIGGS_CHECK(bounded.columns == generate(small, make_input(prompt, sampled, 1000), {}).columns);
}

HIGGS_TEST(engine_decode_modes_give_the_same_codes) {
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  const std::string device = env && *env ? env : "cpu";
  GenerateRequest request;
  request.input_ids = {128000, 128006, 882, 128007, 271, 128013};
  request.audio_mask.assign(6, 0);
  request.max_frames = 48;
  request.seed = 42;
  request.top_k = 50;
  request.top_p = 0.95;
  std::vector<std::string> modes = {"eager", "static"};
  if (device != "cpu") modes.push_back("graph");
  GenerateResult first;
  for (const auto& mode : modes) {
    EngineOptions options;
    options.device = device;
    options.max_context = 300;  // buckets 256 and 300: the steps cross from one to the other
    options.decode = mode;
    Engine engine(options);
    const auto info = load_random_sync(engine, "tiny", 3);
    HIGGS_CHECK_MSG(info.decode == mode, info.decode);
    if (mode != "eager") HIGGS_CHECK((info.kv_buckets == std::vector<std::int64_t>{256, 300}));
    // A prompt long enough that decoding crosses the first bucket.
    request.input_ids.assign(230, 1000);
    request.input_ids.back() = 128013;
    request.audio_mask.assign(230, 0);
    auto result = generate_sync(engine, request);
    if (mode == modes.front()) {
      first = result;
      continue;
    }
    // The device paths may round differently from the eager one on a GPU, never on the CPU.
    if (device == "cpu") HIGGS_CHECK_MSG(result.codes == first.codes, mode);
    HIGGS_CHECK_MSG(result.columns == first.columns || device != "cpu", mode);
    HIGGS_CHECK(result.stop_reason == "max_frames" || result.stop_reason == "audio_end");
  }
  EngineOptions bad;
  bad.decode = "warp";
  Engine engine(bad);
  HIGGS_CHECK_THROWS(load_random_sync(engine, "tiny", 3), ErrorCode::Input, "unknown decode mode");
}
