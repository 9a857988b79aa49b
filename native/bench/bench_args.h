// Command-line options of higgs-bench.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  std::int64_t max_context = 0; // default: room for every run below
  int threads = 0;
  std::string json_path;        // also write the JSON report here
  std::string decode = "auto";  // engine decode mode: auto, eager, static, graph
  std::int64_t voice_seconds = 10;    // reference clip in the time-to-first-audio prompt
  std::int64_t request_seconds = 60;  // the long request (peak memory, end-to-end frames/s); 0 = skip
  // Codec decode timings (random codec of the real tokenizer shape, seeded by `seed`).
  bool codec = true;                  // --no-codec skips them
  std::vector<double> codec_seconds;  // whole-decode lengths; default 1,10 on cpu, 1,10,60 on cuda
  std::int64_t codec_window = 8;      // frames per streaming window (the generator's stream_every)
  std::int64_t codec_repeats = 0;     // timed runs per length; 0 = 1 on cpu, 3 on cuda
  // EngineOptions::fused_kernels / next_kernels, from the environment (HIGGS_FUSED_KERNELS=0,
  // HIGGS_KERNELS_NEXT=1), which scripts/device/gpu-check.sh sets per variant: read here, at the
  // edge, never in the core.
  bool fused_kernels = true;
  bool next_kernels = false;
  // The batch sweep (--batch 1,2,4,...; empty = skipped): the engine gets max + 1 slots.
  std::vector<std::int64_t> batch;
  std::string batching = "exact";  // EngineOptions::batching: exact or fast
  std::string weights = "dense";   // EngineOptions::weights: dense or int8
};

// Parses argv; prints usage and exits on --help or a bad flag.
BenchArgs parse_bench_args(int argc, char** argv);

}  // namespace higgs::bench
