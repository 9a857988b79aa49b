#include "bench_args.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "buffer_limits.h"
#include "lm/generator.h"

namespace higgs::bench {
namespace {

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: higgs-bench [--model DIR | --shape tiny|mid|full] [--seed N] [--device cpu|cuda]\n"
               "                   [--dtype float32|bfloat16|float16] [--prompt N] [--steps N] [--warmup N]\n"
               "                   [--max-context N] [--threads N] [--json FILE] [--decode auto|eager|static|graph]\n"
               "                   [--voice-seconds N] [--request-seconds N]\n"
               "                   [--no-codec] [--codec-seconds S,S,...] [--codec-window N] [--codec-repeats N]\n"
               "                   [--batch B,B,...] [--batching exact|fast] [--weights dense|int8]\n"
               "Times load (and CUDA-graph capture), prefill of a mixed text/audio prompt, single-frame audio\n"
               "decode steps (eager and the engine's decode path), time to the first frame for a prompt with a\n"
               "reference voice, and one long request (frames/s, peak GPU memory). --batch adds a sweep over\n"
               "batch sizes (continuous batching, eager decode): step times, aggregate frames/s, and a\n"
               "newcomer's first audio while B streams run. Prints a table and a JSON report (also to\n"
               "--json FILE).\n");
  std::exit(code);
}

std::int64_t to_int(const std::string& flag, const char* value) {
  char* end = nullptr;
  const long long v = std::strtoll(value, &end, 10);
  if (!end || *end || v < 0) {
    std::fprintf(stderr, "higgs-bench: %s needs a non-negative integer, got '%s'\n", flag.c_str(), value);
    usage(2);
  }
  return v;
}

// "1,10,60" -> {1, 10, 60}: positive seconds of audio.
std::vector<double> to_seconds_list(const std::string& flag, const char* value) {
  std::vector<double> out;
  const std::string text = value;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || !end || *end || !(v > 0) || v > 3600) {
      std::fprintf(stderr, "higgs-bench: %s needs a comma-separated list of seconds in (0, 3600], got '%s'\n",
                   flag.c_str(), value);
      usage(2);
    }
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

// "1,2,4" -> {1, 2, 4}: batch sizes 1..kMaxSlots - 1 (the newcomer needs a slot beside them).
std::vector<std::int64_t> to_batch_list(const std::string& flag, const char* value) {
  std::vector<std::int64_t> out;
  const std::string text = value;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || !end || *end || v < 1 || v >= kMaxSlots) {
      std::fprintf(stderr, "higgs-bench: %s needs a comma-separated list of batch sizes in 1..%lld, got '%s'\n",
                   flag.c_str(), static_cast<long long>(kMaxSlots - 1), value);
      usage(2);
    }
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

}  // namespace

BenchArgs parse_bench_args(int argc, char** argv) {
  BenchArgs a;
  const char* fused = std::getenv("HIGGS_FUSED_KERNELS");
  const char* next = std::getenv("HIGGS_KERNELS_NEXT");
  a.fused_kernels = !(fused && std::string(fused) == "0");
  a.next_kernels = next && std::string(next) == "1";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(0);
    if (flag == "--no-codec") {
      a.codec = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "higgs-bench: %s needs a value\n", flag.c_str());
      usage(2);
    }
    const char* value = argv[++i];
    if (flag == "--model") a.model_dir = value;
    else if (flag == "--shape") a.shape = value;
    else if (flag == "--seed") a.seed = static_cast<std::uint64_t>(to_int(flag, value));
    else if (flag == "--device") a.device = value;
    else if (flag == "--dtype") a.dtype = value;
    else if (flag == "--prompt") a.prompt = to_int(flag, value);
    else if (flag == "--steps") a.steps = to_int(flag, value);
    else if (flag == "--warmup") a.warmup = to_int(flag, value);
    else if (flag == "--max-context") a.max_context = to_int(flag, value);
    else if (flag == "--threads") a.threads = static_cast<int>(to_int(flag, value));
    else if (flag == "--json") a.json_path = value;
    else if (flag == "--decode") a.decode = value;
    else if (flag == "--voice-seconds") a.voice_seconds = to_int(flag, value);
    else if (flag == "--request-seconds") a.request_seconds = to_int(flag, value);
    else if (flag == "--codec-seconds") a.codec_seconds = to_seconds_list(flag, value);
    else if (flag == "--codec-window") a.codec_window = to_int(flag, value);
    else if (flag == "--codec-repeats") a.codec_repeats = to_int(flag, value);
    else if (flag == "--batch") a.batch = to_batch_list(flag, value);
    else if (flag == "--batching") a.batching = value;
    else if (flag == "--weights") a.weights = value;
    else {
      std::fprintf(stderr, "higgs-bench: unknown flag %s\n", flag.c_str());
      usage(2);
    }
  }
  if (a.dtype.empty()) a.dtype = a.device == "cpu" ? "float32" : "bfloat16";
  if (a.prompt < 2 || a.steps < 1) {
    std::fprintf(stderr, "higgs-bench: --prompt must be >= 2 and --steps >= 1\n");
    usage(2);
  }
  if (a.codec_seconds.empty()) a.codec_seconds = a.device == "cpu" ? std::vector<double>{1, 10} : std::vector<double>{1, 10, 60};
  if (a.codec_repeats == 0) a.codec_repeats = a.device == "cpu" ? 1 : 3;
  if (a.codec_window < 1) {
    std::fprintf(stderr, "higgs-bench: --codec-window must be >= 1\n");
    usage(2);
  }
  if (a.max_context == 0) {
    // The step timings (warm-up, alone, back to back; the batch sweep's rows also their lead:
    // they prefill one piece per step, one after another), the voice prompt and the long request.
    const std::int64_t batch = a.batch.empty() ? 0 : *std::max_element(a.batch.begin(), a.batch.end());
    const std::int64_t pieces = (a.prompt + lm::kPrefillPiece - 1) / lm::kPrefillPiece;
    const std::int64_t steps = a.prompt + batch * pieces + a.warmup + 2 * a.steps + 1;
    const std::int64_t voice = 64 + 25 * a.voice_seconds + 32;
    const std::int64_t request = 64 + 25 * a.request_seconds + 16;
    a.max_context = std::max({steps, voice, request});
  }
  return a;
}

}  // namespace higgs::bench
