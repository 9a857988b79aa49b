// The codec part of higgs-bench (codec_bench.h): whole and windowed decodes of random codes, timed.
#include "codec_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "engine_sync.h"

namespace higgs::bench {
namespace {

// Uniform random codes [num_quantizers][frames], codebook-major, from a seeded host generator.
std::vector<std::int32_t> random_codes(const CodecInfo& c, std::int64_t frames, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::int32_t> code(0, static_cast<std::int32_t>(c.codebook_size - 1));
  std::vector<std::int32_t> codes(static_cast<size_t>(c.num_quantizers * frames));
  for (auto& v : codes) v = code(rng);
  return codes;
}

// Times `run` (which must wait for the device: the *_sync helpers copy samples to the host)
// `warmup` times untimed, then `repeats` times; returns the timings in ms.
template <typename Run>
std::vector<double> time_runs(std::int64_t warmup, std::int64_t repeats, Run run) {
  for (std::int64_t i = 0; i < warmup; ++i) run();
  std::vector<double> ms;
  for (std::int64_t i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    run();
    ms.push_back(ms_since(t0));
  }
  return ms;
}

}  // namespace

nlohmann::json bench_codec(higgs::Engine& engine, const BenchArgs& args) {
  engine.reset_peak_gpu_memory();
  const auto t0 = Clock::now();
  const CodecInfo info = load_random_codec_sync(engine, args.seed);
  const double load_s = ms_since(t0) / 1e3;
  const double frames_per_s = static_cast<double>(info.sample_rate) / static_cast<double>(info.samples_per_frame);
  const std::int64_t warmup = 1, repeats = std::max<std::int64_t>(1, args.codec_repeats);
  std::mt19937_64 rng(args.seed);

  nlohmann::json decodes = nlohmann::json::array();
  for (const double seconds : args.codec_seconds) {
    const auto frames = std::max<std::int64_t>(1, std::llround(seconds * frames_per_s));
    const auto codes = random_codes(info, frames, rng);
    std::size_t samples = 0;
    const auto ms = time_runs(warmup, repeats, [&] { samples = decode_audio_sync(engine, codes, frames).size(); });
    const double audio_s = static_cast<double>(frames) / frames_per_s;
    const double median = percentile(ms, 0.5);
    decodes.push_back({{"audio_s", audio_s},
                       {"frames", frames},
                       {"samples", samples},
                       {"ms", median},
                       {"ms_min", *std::min_element(ms.begin(), ms.end())},
                       {"ms_per_audio_s", median / audio_s},
                       {"real_time_factor", median / 1e3 / audio_s}});
  }

  // The streaming window: chunk frames plus context on each side, as lib/speech/stream.ts slices them.
  const std::int64_t chunk = args.codec_window, context = info.context_frames;
  const std::int64_t window_frames = chunk + 2 * context;
  const auto window_codes = random_codes(info, window_frames, rng);
  const std::int64_t window_repeats = 5 * repeats;
  const auto window_ms = time_runs(warmup, window_repeats, [&] {
    decode_audio_window_sync(engine, window_codes, window_frames, context, context + chunk);
  });
  const double chunk_s = static_cast<double>(chunk) / frames_per_s;
  const double window_p50 = percentile(window_ms, 0.5);
  const nlohmann::json window = {{"chunk_frames", chunk},
                                 {"context_frames", context},
                                 {"decoded_frames", window_frames},
                                 {"repeats", window_repeats},
                                 {"ms_p50", window_p50},
                                 {"ms_p90", percentile(window_ms, 0.9)},
                                 {"ms_min", *std::min_element(window_ms.begin(), window_ms.end())},
                                 {"ms_per_audio_s", window_p50 / chunk_s},
                                 {"real_time_factor", window_p50 / 1e3 / chunk_s}};

  GpuMemory memory;
  const bool on_gpu = engine.gpu_memory(&memory);
  const nlohmann::json& longest = decodes.back();
  nlohmann::json report = {
      {"codec", info.codec_dir},
      {"seed", args.seed},
      {"device", args.device},
      {"dtype", "float32"},
      {"load_s", load_s},
      {"sample_rate", info.sample_rate},
      {"samples_per_frame", info.samples_per_frame},
      {"num_quantizers", info.num_quantizers},
      {"codebook_size", info.codebook_size},
      {"context_frames", info.context_frames},
      {"warmup", warmup},
      {"repeats", repeats},
      {"decode", decodes},
      {"codec_decode_ms_per_audio_s", longest["ms_per_audio_s"]},
      {"codec_decode_audio_s", longest["audio_s"]},
      {"window", window},
      {"codec_window_ms_per_chunk", window_p50},
      {"peak_gpu_memory_bytes", on_gpu ? nlohmann::json(memory.peak_allocated) : nlohmann::json(nullptr)},
  };

  std::string lengths;
  for (const auto& d : decodes) {
    char item[96];
    std::snprintf(item, sizeof item, "%s%g s %.1f ms", lengths.empty() ? "" : ", ", d["audio_s"].get<double>(),
                  d["ms"].get<double>());
    lengths += item;
  }
  std::printf("%-28s %.1f ms per audio s (RTF %.4f; %s; load %.2f s)\n", "codec decode (random, fp32)",
              longest["ms_per_audio_s"].get<double>(), longest["real_time_factor"].get<double>(), lengths.c_str(),
              load_s);
  std::printf("%-28s p50 %.2f ms, p90 %.2f ms per %lld-frame chunk (%lld decoded), %.1f ms per audio s\n",
              "codec stream window", window_p50, window["ms_p90"].get<double>(), static_cast<long long>(chunk),
              static_cast<long long>(window_frames), window["ms_per_audio_s"].get<double>());
  if (on_gpu) std::printf("%-28s %.2f GB\n", "codec peak GPU memory", static_cast<double>(memory.peak_allocated) / 1e9);
  return report;
}

}  // namespace higgs::bench
