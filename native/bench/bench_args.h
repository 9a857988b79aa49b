// Command-line options of higgs-bench.
#pragma once

#include <cstdint>
#include <string>

namespace higgs::bench {

struct BenchArgs {
  std::string model_dir;        // load a checkpoint directory, or:
  std::string shape = "tiny";   // random weights of a named shape (tiny, full)
  std::uint64_t seed = 1234;
  std::string device = "cpu";
  std::string dtype;            // default: float32 on cpu, bfloat16 on cuda
  std::int64_t prompt = 64;     // prefill length (half text, half audio frames)
  std::int64_t steps = 32;      // timed decode steps
  std::int64_t warmup = 4;      // untimed decode steps first
  std::int64_t max_context = 0; // default: prompt + warmup + steps
  int threads = 0;
  std::string json_path;        // also write the JSON report here
};

// Parses argv; prints usage and exits on --help or a bad flag.
BenchArgs parse_bench_args(int argc, char** argv);

}  // namespace higgs::bench
