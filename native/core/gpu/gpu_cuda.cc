// gpu.h on a CUDA libtorch: ATen's CUDAGraph, the CUDA caching allocator and cudaMemGetInfo.
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include "gpu/gpu.h"
#include "gpu/host_copy.h"

#include "errors.h"

namespace higgs::gpu {

bool compiled_with_cuda() { return true; }

std::string cuda_build_version() {
  return std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10);
}

std::optional<MemoryInfo> memory_info(int index) {
  if (index < 0 || index >= static_cast<int>(c10::cuda::device_count())) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  MemoryInfo info;
  // Index 0 of every StatArray is the aggregate over the small and large pools.
  info.allocated = stats.allocated_bytes[0].current;
  info.reserved = stats.reserved_bytes[0].current;
  info.peak_allocated = stats.allocated_bytes[0].peak;
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(index));
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) == cudaSuccess) {
    info.free = static_cast<std::int64_t>(free);
    info.total = static_cast<std::int64_t>(total);
  }
  return info;
}

void reset_peak_memory(int index) {
  if (index >= 0 && index < static_cast<int>(c10::cuda::device_count())) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(index);
  }
}

void release_cached_memory() { c10::cuda::CUDACachingAllocator::emptyCache(); }

void synchronize(int index) {
  // -1: the current device ("cuda" without an index).
  c10::cuda::CUDAGuard guard(index < 0 ? c10::cuda::current_device() : static_cast<c10::DeviceIndex>(index));
  c10::cuda::device_synchronize();
}

GraphPool new_graph_pool() {
  const auto id = at::cuda::graph_pool_handle();
  return {static_cast<std::uint64_t>(id.first), static_cast<std::uint64_t>(id.second)};
}

struct StepGraph::Impl {
  at::cuda::CUDAGraph graph;
};

StepGraph::StepGraph() : impl_(std::make_unique<Impl>()) {}
StepGraph::~StepGraph() = default;

void StepGraph::capture(const std::function<void()>& step, GraphPool pool, int warmup_runs) {
  // Capture may not run on the legacy default stream; everything queued before must be done.
  c10::cuda::device_synchronize();
  auto side = c10::cuda::getStreamFromPool();
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    for (int i = 0; i < warmup_runs; ++i) step();
    side.synchronize();
    // Thread-local mode: another thread asking for memory numbers cannot break the capture.
    impl_->graph.capture_begin({pool.first, pool.second}, cudaStreamCaptureModeThreadLocal);
    step();
    impl_->graph.capture_end();
  }
  c10::cuda::device_synchronize();
}

void StepGraph::replay() { impl_->graph.replay(); }

struct HostCopy::Impl {
  at::Tensor host;
  at::cuda::CUDAEvent landed;
  bool pending = false;
};

HostCopy::HostCopy() : impl_(std::make_unique<Impl>()) {}
HostCopy::~HostCopy() = default;

void HostCopy::start(const at::Tensor& source) {
  auto& i = *impl_;
  if (!source.is_cuda()) {
    i.host = source.to(at::kCPU).clone();
    i.pending = false;
    return;
  }
  if (!i.host.defined() || i.host.sizes() != source.sizes() || i.host.scalar_type() != source.scalar_type()) {
    i.host = at::empty(source.sizes(), source.options().device(at::kCPU).pinned_memory(true));
  }
  i.host.copy_(source, /*non_blocking=*/true);
  i.landed.record(c10::cuda::getCurrentCUDAStream(source.device().index()));
  i.pending = true;
}

at::Tensor HostCopy::wait() {
  auto& i = *impl_;
  if (i.pending) i.landed.synchronize();
  i.pending = false;
  return i.host;
}

}  // namespace higgs::gpu
