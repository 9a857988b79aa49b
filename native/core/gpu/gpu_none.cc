// gpu.h and host_copy.h for a libtorch without CUDA: no graphs, no device memory numbers, copies
// done at once.
#include "gpu/gpu.h"
#include "gpu/host_copy.h"

#include "errors.h"

namespace higgs::gpu {

bool compiled_with_cuda() { return false; }
std::string cuda_build_version() { return "cpu"; }
std::optional<MemoryInfo> memory_info(int) { return std::nullopt; }
void reset_peak_memory(int) {}
void release_cached_memory() {}
void synchronize(int) {}
GraphPool new_graph_pool() { return {}; }

struct StepGraph::Impl {};
StepGraph::StepGraph() = default;
StepGraph::~StepGraph() = default;

void StepGraph::capture(const std::function<void()>&, GraphPool, int) {
  throw HiggsError(ErrorCode::Internal, "CUDA graphs need a libtorch built with CUDA");
}
void StepGraph::replay() { throw HiggsError(ErrorCode::Internal, "CUDA graphs need a libtorch built with CUDA"); }

struct HostCopy::Impl {
  at::Tensor host;
};
HostCopy::HostCopy() : impl_(std::make_unique<Impl>()) {}
HostCopy::~HostCopy() = default;
void HostCopy::start(const at::Tensor& source) { impl_->host = source.to(at::kCPU).clone(); }
at::Tensor HostCopy::wait() { return impl_->host; }

}  // namespace higgs::gpu
