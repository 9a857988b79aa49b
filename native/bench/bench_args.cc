#include "bench_args.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace higgs::bench {
namespace {

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: higgs-bench [--model DIR | --shape tiny|full] [--seed N] [--device cpu|cuda]\n"
               "                   [--dtype float32|bfloat16|float16] [--prompt N] [--steps N] [--warmup N]\n"
               "                   [--max-context N] [--threads N] [--json FILE]\n"
               "Times the LM forward pass: load, prefill of a mixed text/audio prompt, then single-frame\n"
               "audio decode steps. Prints a table and a JSON report (also to --json FILE).\n");
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

}  // namespace

BenchArgs parse_bench_args(int argc, char** argv) {
  BenchArgs a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(0);
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
  if (a.max_context == 0) a.max_context = a.prompt + a.warmup + a.steps;
  return a;
}

}  // namespace higgs::bench
