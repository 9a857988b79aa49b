// The batch sweep (batch_sweep.h): slot-batch step timings on the LM thread, then a newcomer
// admitted through the engine while B streams run.
#include "batch_sweep.h"

#include <algorithm>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_prompts.h"
#include "bench_stats.h"
#include "engine_sync.h"

namespace higgs::bench {
namespace {

// Column times of B running generations, and the gaps between them inside a time window.
class RunningStreams {
 public:
  RunningStreams(Engine& engine, std::int64_t B, const ModelInfo& info, std::uint64_t seed) : engine_(engine), times_(B) {
    for (std::int64_t i = 0; i < B; ++i) {
      auto request = mixed_prompt(64, info.num_codebooks, seed + static_cast<std::uint64_t>(i));
      request.max_frames = info.max_context;  // runs until cancelled (or context_full)
      request.request_id = kFirstId + static_cast<std::uint64_t>(i);
      done_.emplace_back();
      engine.generate(
          request, {},
          [this, i](std::int64_t, std::int64_t) {
            std::lock_guard<std::mutex> lock(mutex_);
            times_[static_cast<std::size_t>(i)].push_back(Clock::now());
          },
          [this, i](std::exception_ptr, GenerateResult*) { done_[static_cast<std::size_t>(i)].set_value(); });
    }
  }
  ~RunningStreams() {
    for (std::size_t i = 0; i < done_.size(); ++i) engine_.cancel(kFirstId + i);
    for (auto& d : done_) d.get_future().wait();
  }
  // Waits until every stream has produced `columns` columns.
  void wait_for(std::size_t columns) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (std::all_of(times_.begin(), times_.end(), [&](const auto& t) { return t.size() >= columns; })) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // Milliseconds between consecutive columns of each stream, for gaps that end in [from, to].
  std::vector<double> gaps(Clock::time_point from, Clock::time_point to) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<double> out;
    for (const auto& t : times_) {
      for (std::size_t j = 1; j < t.size(); ++j) {
        if (t[j] >= from && t[j] <= to) out.push_back(std::chrono::duration<double, std::milli>(t[j] - t[j - 1]).count());
      }
    }
    return out;
  }

 private:
  static constexpr std::uint64_t kFirstId = 1u << 30;
  Engine& engine_;
  std::mutex mutex_;
  std::vector<std::vector<Clock::time_point>> times_;
  std::vector<std::promise<void>> done_;
};

nlohmann::json newcomer(Engine& engine, const ModelInfo& info, std::int64_t B, const BenchArgs& args) {
  RunningStreams running(engine, B, info, args.seed + 1000);
  running.wait_for(4);
  auto request = voice_prompt(args.voice_seconds, info.num_codebooks, args.seed);
  request.stream_every = 1;
  request.max_frames = info.num_codebooks + 4;
  double first_ms = -1;
  const auto start = Clock::now();
  auto result = generate_sync(engine, request, [&](std::vector<std::int32_t>, std::int64_t, std::int64_t) {
    if (first_ms < 0) first_ms = ms_since(start);
  });
  auto gaps = running.gaps(start, Clock::now());
  return {{"newcomer_first_audio_ms", first_ms},
          {"newcomer_prompt_positions", result.prompt_positions},
          {"frame_gap_p50_ms", gaps.empty() ? nlohmann::json(nullptr) : nlohmann::json(percentile(gaps, 0.5))},
          {"frame_gap_p99_ms", gaps.empty() ? nlohmann::json(nullptr) : nlohmann::json(percentile(gaps, 0.99))}};
}

}  // namespace

nlohmann::json bench_batch_sweep(Engine& engine, const ModelInfo& info, const BenchArgs& args) {
  const auto prompt = mixed_prompt(args.prompt, info.num_codebooks, args.seed);
  const double weights = audio_step_weight_bytes(info), kv = kv_bytes_per_position(info);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto B : args.batch) {
    const auto timing = time_batch_sync(engine, prompt, B, args.warmup, args.steps, args.batching);
    const double p50 = percentile(timing.step_ms, 0.5), p90 = percentile(timing.step_ms, 0.9);
    const double kv_bytes = static_cast<double>(B) * timing.mean_positions * kv;
    nlohmann::json row = {{"batch", B},
                          {"step_ms_p50", p50},
                          {"step_ms_p90", p90},
                          {"back_to_back_ms", timing.back_to_back_ms},
                          {"frames_per_s", static_cast<double>(B) * 1e3 / p50},
                          {"real_time_factor", p50 * 25.0 / 1e3},
                          {"weight_bytes_per_step", weights},
                          {"kv_bytes_per_step", kv_bytes},
                          {"gb_per_s", (weights + kv_bytes) / (p50 * 1e-3) / 1e9},
                          {"graph_capture_s", timing.capture_seconds < 0 ? nlohmann::json(nullptr) : nlohmann::json(timing.capture_seconds)},
                          {"graph_pool_bytes", timing.pool_bytes < 0 ? nlohmann::json(nullptr) : nlohmann::json(timing.pool_bytes)}};
    row.update(newcomer(engine, info, B, args));
    std::printf("%-28s B=%-3lld step p50 %.2f ms, %.1f frames/s, RTF %.3f, first audio %.1f ms, gap p99 %.1f ms\n",
                "batch sweep", static_cast<long long>(B), p50, row["frames_per_s"].get<double>(),
                row["real_time_factor"].get<double>(), row["newcomer_first_audio_ms"].get<double>(),
                row["frame_gap_p99_ms"].is_null() ? -1.0 : row["frame_gap_p99_ms"].get<double>());
    rows.push_back(row);
  }
  return {{"batching", args.batching}, {"weights", info.weight_format}, {"slots", info.slots}, {"warmup", args.warmup}, {"steps", args.steps},
          {"decode", info.decode}, {"graphs", info.decode == "graph"}, {"rows", rows}};
}

}  // namespace higgs::bench
