// higgs-bench: times the Higgs LM forward pass through the Engine, with no Node involved.
// First version (issue 2): load, prefill, per-step decode latency, weight bytes read per audio
// step and the bandwidth that implies. JSON report for BENCHMARKS.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_args.h"
#include "engine.h"
#include "errors.h"

using higgs::Engine;
using higgs::ForwardRequest;
using higgs::ModelInfo;
using higgs::bench::BenchArgs;

namespace {

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto index = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

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

// Weights one audio decode step reads (attention, audio MLP, audio norms, final norm, audio
// head); the text MLP and the heads not used are skipped (anchors.md A.1).
double audio_step_weight_bytes(const ModelInfo& m) {
  const double H = static_cast<double>(m.hidden_size), D = H / static_cast<double>(m.num_heads);
  const double attention = H * (m.num_heads * D) * 2 + H * (m.num_kv_heads * D) * 2;  // q, o, k, v
  const double audio_mlp = 3.0 * H * static_cast<double>(m.intermediate_size);
  const double params = m.num_layers * (attention + audio_mlp + 2 * H) + H +
                        static_cast<double>(m.num_codebooks * m.codebook_vocab) * H;
  return params * static_cast<double>(m.weight_bytes) / static_cast<double>(m.parameter_count);
}

ForwardRequest prompt_request(std::int64_t length, std::int64_t codebooks) {
  ForwardRequest r;
  const std::int64_t text = length / 2;
  for (std::int64_t i = 0; i < length; ++i) {
    const bool audio = i >= text;
    r.input_ids.push_back(audio ? 128016 : static_cast<std::int32_t>(1000 + i));
    r.audio_mask.push_back(audio ? 1 : 0);
    if (audio) for (std::int64_t k = 0; k < codebooks; ++k) r.audio_codes.push_back(static_cast<std::int32_t>((i * 31 + k * 7) % 1024));
  }
  return r;
}

ForwardRequest decode_request(std::int64_t position, std::int64_t codebooks) {
  ForwardRequest r;
  r.input_ids = {128016};
  r.audio_mask = {1};
  for (std::int64_t k = 0; k < codebooks; ++k) r.audio_codes.push_back(static_cast<std::int32_t>((position * 17 + k) % 1024));
  r.start_pos = position;
  return r;
}

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
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
    Engine engine(options);

    auto t0 = std::chrono::steady_clock::now();
    ModelInfo info = args.model_dir.empty() ? engine.load_random_sync(args.shape, args.seed) : engine.load_sync(args.model_dir);
    const double load_s = seconds(t0, std::chrono::steady_clock::now());

    // Prefill twice: the first run pays one-time allocations and kernel selection.
    engine.forward_sync(prompt_request(args.prompt, info.num_codebooks));
    t0 = std::chrono::steady_clock::now();
    engine.forward_sync(prompt_request(args.prompt, info.num_codebooks));
    const double prefill_s = seconds(t0, std::chrono::steady_clock::now());

    std::int64_t position = args.prompt;
    for (std::int64_t i = 0; i < args.warmup; ++i) engine.forward_sync(decode_request(position++, info.num_codebooks));
    std::vector<double> step_ms;
    for (std::int64_t i = 0; i < args.steps; ++i) {
      t0 = std::chrono::steady_clock::now();
      engine.forward_sync(decode_request(position++, info.num_codebooks));  // copies logits to host: synchronises
      step_ms.push_back(1e3 * seconds(t0, std::chrono::steady_clock::now()));
    }

    const double p50 = percentile(step_ms, 0.5), p90 = percentile(step_ms, 0.9);
    const double bytes = audio_step_weight_bytes(info);
    nlohmann::json report = {
        {"tool", "higgs-bench"},
        {"version", 1},
        {"gpu", gpu_name(args.device)},
        {"model", args.model_dir.empty() ? "random:" + args.shape : args.model_dir},
        {"device", info.device},
        {"dtype", info.dtype},
        {"parameters", info.parameter_count},
        {"weight_bytes", info.weight_bytes},
        {"load_s", load_s},
        {"prefill_tokens", args.prompt},
        {"prefill_ms", prefill_s * 1e3},
        {"decode_steps", args.steps},
        {"decode_ms_p50", p50},
        {"decode_ms_p90", p90},
        {"frames_per_s", 1e3 / p50},
        {"real_time_factor", p50 * 25.0 / 1e3},
        {"weight_bytes_per_step", bytes},
        {"achieved_gb_per_s", bytes / (p50 * 1e-3) / 1e9},
        {"cuda_graphs", false},
    };
    std::printf("%-28s %s\n", "model", report["model"].get<std::string>().c_str());
    std::printf("%-28s %s / %s / %s\n", "device / dtype / gpu", info.device.c_str(), info.dtype.c_str(),
                report["gpu"].get<std::string>().c_str());
    std::printf("%-28s %.1f M\n", "parameters", info.parameter_count / 1e6);
    std::printf("%-28s %.3f s\n", "load", load_s);
    std::printf("%-28s %.2f ms (%lld positions)\n", "prefill", prefill_s * 1e3, static_cast<long long>(args.prompt));
    std::printf("%-28s p50 %.3f ms, p90 %.3f ms\n", "decode step", p50, p90);
    std::printf("%-28s %.1f frames/s, RTF %.4f\n", "throughput", 1e3 / p50, p50 * 25.0 / 1e3);
    std::printf("%-28s %.3f GB/step, %.1f GB/s\n", "weights read", bytes / 1e9, bytes / (p50 * 1e-3) / 1e9);
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
