// higgs-bench: times the engine with no Node involved: load (with CUDA-graph capture), prefill,
// decode steps (eager and the engine's decode path), time to the first audio frame of a
// cloned-voice prompt, one long request (end-to-end frames/s, peak GPU memory), the batch sweep
// (--batch) and the codec.
// JSON report for BENCHMARKS.md plus a short table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "batch_sweep.h"
#include "bench_args.h"
#include "bench_prompts.h"
#include "bench_stats.h"
#include "codec_bench.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"

using higgs::Engine;
using higgs::ModelInfo;
using higgs::bench::BenchArgs;
using higgs::bench::audio_step_weight_bytes;
using higgs::bench::Clock;
using higgs::bench::ms_since;
using higgs::bench::percentile;

namespace {

std::string gpu_name(const std::string& device) {
  if (device == "cpu") return "cpu";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null", "r"),
                                             pclose);
  if (!pipe) return "unknown";
  char buffer[256] = {0};
  std::string name = fgets(buffer, sizeof buffer, pipe.get()) ? buffer : "unknown";
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  return name;
}

// Spec memory bandwidth (bytes/s) of the cards the bound is quoted for (docs/model.md#decode-step-cost); 0 = unknown.
double spec_bandwidth(const std::string& gpu) {
  if (gpu.find("H200") != std::string::npos) return 4.8e12;
  if (gpu.find("H100") != std::string::npos) return gpu.find("PCIe") != std::string::npos ? 2.0e12 : 3.35e12;
  return 0;
}

nlohmann::json step_stats(const higgs::DecodeTiming& t) {
  return {{"decode", t.decode},
          {"p50_ms", percentile(t.step_ms, 0.5)},
          {"p90_ms", percentile(t.step_ms, 0.9)},
          {"pipelined_ms", t.pipelined_step_ms}};
}

// Milliseconds from the generate call to the first streamed frame (-1 when the generation ended
// before one), and the prefill inside it.
nlohmann::json first_frame(Engine& engine, higgs::GenerateRequest request, std::int64_t codebooks) {
  request.stream_every = 1;
  request.max_frames = codebooks + 4;
  double first_ms = -1;
  const auto start = Clock::now();
  auto result = generate_sync(engine, request, [&](std::vector<std::int32_t>, std::int64_t, std::int64_t) {
    if (first_ms < 0) first_ms = ms_since(start);
  });
  return {{"prompt_positions", result.prompt_positions},
          {"first_frame_ms", first_ms},
          {"prefill_ms", result.prefill_seconds * 1e3}};
}

nlohmann::json long_request(Engine& engine, std::int64_t seconds, std::int64_t codebooks, std::uint64_t seed) {
  auto request = higgs::bench::mixed_prompt(64, codebooks, seed);
  request.max_frames = 25 * seconds + codebooks + 1;  // the frames plus the delay ramp
  request.ras_window = 7;
  const auto start = Clock::now();
  auto result = generate_sync(engine, request);
  const double wall_s = ms_since(start) / 1e3;
  return {{"audio_seconds", seconds},
          {"columns", result.columns},
          {"frames", result.frames},
          {"stop", result.stop_reason},
          {"wall_s", wall_s},
          {"decode_s", result.decode_seconds},
          {"columns_per_s", static_cast<double>(result.columns) / result.decode_seconds},
          {"real_time_factor", result.decode_seconds / (static_cast<double>(result.columns) / 25.0)}};
}

nlohmann::json gpu_memory(const Engine& engine) {
  higgs::GpuMemory m;
  if (!engine.gpu_memory(&m)) return nullptr;
  return {{"peak_allocated", m.peak_allocated}, {"allocated", m.allocated}, {"reserved", m.reserved},
          {"free", m.free}, {"total", m.total}};
}

}  // namespace

int main(int argc, char** argv) {
  const BenchArgs args = higgs::bench::parse_bench_args(argc, argv);
  try {
    higgs::EngineOptions options;
    options.device = args.device;
    options.dtype = args.dtype;
    options.max_context = args.max_context;
    options.threads = args.threads;
    options.decode = args.decode;
    options.fused_kernels = args.fused_kernels;
    options.next_kernels = args.next_kernels;
    options.batching = args.batching;
    options.weights = args.weights;
    // The sweep's largest batch and a newcomer beside it.
    if (!args.batch.empty()) options.slots = *std::max_element(args.batch.begin(), args.batch.end()) + 1;
    Engine engine(options);

    auto t0 = Clock::now();
    ModelInfo info = args.model_dir.empty() ? load_random_sync(engine, args.shape, args.seed) : load_sync(engine, args.model_dir);
    const double load_s = ms_since(t0) / 1e3;
    const auto K = info.num_codebooks;

    // Prefill twice: the first run pays one-time allocations and kernel selection.
    const auto prompt = higgs::bench::mixed_prompt(args.prompt, K, args.seed);
    time_decode_sync(engine, prompt, 0, 1, true);
    const auto eager = time_decode_sync(engine, prompt, args.warmup, args.steps, true);
    const auto fast = info.decode == "eager" ? eager : time_decode_sync(engine, prompt, args.warmup, args.steps, false);

    const double p50 = percentile(fast.step_ms, 0.5), p90 = percentile(fast.step_ms, 0.9);
    const double bytes = audio_step_weight_bytes(info);
    const std::string gpu = gpu_name(args.device);
    const double bandwidth = spec_bandwidth(gpu);
    nlohmann::json report = {
        {"tool", "higgs-bench"},
        {"version", 2},
        {"gpu", gpu},
        {"model", args.model_dir.empty() ? "random:" + args.shape : args.model_dir},
        {"device", info.device},
        {"dtype", info.dtype},
        {"weights", info.weight_format},
        {"decode", info.decode},
        {"cuda_graphs", info.decode == "graph"},
        {"kv_buckets", info.kv_buckets},
        {"fused_kernels", info.fused_kernels},
        {"parameters", info.parameter_count},
        {"weight_bytes", info.weight_bytes},
        {"load_s", load_s},
        {"graph_capture_s", info.graph_capture_seconds},
        {"prefill_tokens", args.prompt},
        {"prefill_ms", fast.prefill_seconds * 1e3},
        {"decode_steps", args.steps},
        {"decode_ms_p50", p50},
        {"decode_ms_p90", p90},
        {"decode_ms_pipelined", fast.pipelined_step_ms},
        {"eager", step_stats(eager)},
        {"frames_per_s", 1e3 / p50},
        {"real_time_factor", p50 * 25.0 / 1e3},
        {"weight_bytes_per_step", bytes},
        {"achieved_gb_per_s", bytes / (p50 * 1e-3) / 1e9},
        {"spec_bandwidth_gb_per_s", bandwidth > 0 ? nlohmann::json(bandwidth / 1e9) : nlohmann::json(nullptr)},
        {"fraction_of_bandwidth_bound", bandwidth > 0 ? nlohmann::json(bytes / bandwidth / (p50 * 1e-3)) : nlohmann::json(nullptr)},
    };

    report["time_to_first_frame"] = first_frame(engine, higgs::bench::voice_prompt(args.voice_seconds, K, args.seed), K);
    report["time_to_first_frame"]["voice_seconds"] = args.voice_seconds;
    engine.reset_peak_gpu_memory();
    if (args.request_seconds > 0) report["request"] = long_request(engine, args.request_seconds, K, args.seed);
    report["gpu_memory"] = gpu_memory(engine);  // peak over the long request (and the codec, below)

    std::printf("%-28s %s\n", "model", report["model"].get<std::string>().c_str());
    std::printf("%-28s %s / %s / %s / %s\n", "device / dtype / decode / gpu", info.device.c_str(), info.dtype.c_str(),
                info.decode.c_str(), gpu.c_str());
    std::printf("%-28s %.1f M\n", "parameters", info.parameter_count / 1e6);
    std::printf("%-28s %.3f s (graph capture %.3f s)\n", "load", load_s, info.graph_capture_seconds);
    std::printf("%-28s %.2f ms (%lld positions)\n", "prefill", fast.prefill_seconds * 1e3, static_cast<long long>(args.prompt));
    std::printf("%-28s p50 %.3f ms, p90 %.3f ms, back to back %.3f ms (%s)\n", "decode step", p50, p90,
                fast.pipelined_step_ms, fast.decode.c_str());
    std::printf("%-28s p50 %.3f ms, p90 %.3f ms\n", "eager decode step", percentile(eager.step_ms, 0.5),
                percentile(eager.step_ms, 0.9));
    std::printf("%-28s %.1f frames/s, RTF %.4f\n", "throughput", 1e3 / p50, p50 * 25.0 / 1e3);
    std::printf("%-28s %.3f GB/step, %.1f GB/s\n", "weights read", bytes / 1e9, bytes / (p50 * 1e-3) / 1e9);
    std::printf("%-28s %.1f ms (%lld prompt positions)\n", "first frame",
                report["time_to_first_frame"]["first_frame_ms"].get<double>(),
                static_cast<long long>(report["time_to_first_frame"]["prompt_positions"].get<std::int64_t>()));
    if (report.contains("request")) {
      std::printf("%-28s %lld columns in %.2f s (%s), RTF %.4f\n", "long request",
                  static_cast<long long>(report["request"]["columns"].get<std::int64_t>()),
                  report["request"]["decode_s"].get<double>(), report["request"]["stop"].get<std::string>().c_str(),
                  report["request"]["real_time_factor"].get<double>());
    }
    if (!report["gpu_memory"].is_null()) {
      std::printf("%-28s %.2f GB\n", "peak GPU memory", report["gpu_memory"]["peak_allocated"].get<double>() / 1e9);
    }
    if (!args.batch.empty()) report["batch_sweep"] = higgs::bench::bench_batch_sweep(engine, info, args);
    if (args.codec) report["codec"] = higgs::bench::bench_codec(engine, args);  // prints its table lines
    const std::string text = report.dump(2);
    std::printf("%s\n", text.c_str());
    if (!args.json_path.empty()) std::ofstream(args.json_path) << text << "\n";
    return 0;
  } catch (const higgs::HiggsError& e) {
    std::fprintf(stderr, "higgs-bench: %s: %s\n", higgs::error_code_name(e.code()), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "higgs-bench: %s\n", e.what());
  }
  return 1;
}
