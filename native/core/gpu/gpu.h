// What the core needs from CUDA beyond ATen's device-generic tensor ops: capturing and replaying
// the decode step as a CUDA graph, the caching allocator's numbers, and giving its cache back.
// gpu_cuda.cc implements it when libtorch has CUDA, gpu_none.cc otherwise (CPU builds), so no
// other file includes a CUDA header and this one has no CUDA types.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace higgs::gpu {

// True when the core was compiled against a CUDA libtorch (graphs and memory numbers exist).
bool compiled_with_cuda();
// The CUDA runtime the core was compiled against ("13.0"; CUDART_VERSION), "cpu" without CUDA.
std::string cuda_build_version();

struct MemoryInfo {
  std::int64_t allocated = 0;       // bytes held by live tensors (caching allocator)
  std::int64_t reserved = 0;        // bytes the allocator holds from the driver (allocated + cached)
  std::int64_t peak_allocated = 0;  // since the last reset_peak_memory
  std::int64_t free = 0, total = 0;  // the device as the driver sees it (other processes included)
};

// Numbers for CUDA device `index`; nullopt without CUDA. Thread-safe, but call it only for a
// device the process already uses: the first CUDA call on a device creates a context there.
std::optional<MemoryInfo> memory_info(int index);
void reset_peak_memory(int index);
// Returns the allocator's cached, unused blocks to the driver (no-op without CUDA).
void release_cached_memory();
void synchronize(int index);  // index -1: the current CUDA device; no-op without CUDA

// An opaque id of a CUDA graph memory pool: graphs captured with the same pool share their
// intermediate buffers (they never run at the same time).
struct GraphPool {
  std::uint64_t first = 0, second = 0;
};
GraphPool new_graph_pool();

// One recorded step. capture() runs `step` `warmup_runs` times eagerly on a side stream (cuBLAS
// handles, allocator blocks), then records one more run; replay() launches the recording on the
// current stream without any host synchronisation. Everything `step` reads or writes outside
// its own temporaries must live in buffers allocated before capture.
class StepGraph {
 public:
  StepGraph();
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  void capture(const std::function<void()>& step, GraphPool pool, int warmup_runs = 2);
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace higgs::gpu
