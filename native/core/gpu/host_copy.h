// A device -> host copy the host does not wait for: start() queues it behind the work already
// launched on the current stream (into pinned memory, on CUDA) and returns at once; wait()
// blocks until it has landed and returns the host tensor. The decode loop starts a read after a
// step and collects it after launching the next one, so reading never stalls the device.
// Without CUDA (or for a CPU tensor) start() copies at once. Implemented in gpu_cuda.cc and
// gpu_none.cc.
#pragma once

#include <ATen/ATen.h>

#include <memory>

namespace higgs::gpu {

class HostCopy {
 public:
  HostCopy();
  ~HostCopy();
  HostCopy(const HostCopy&) = delete;
  HostCopy& operator=(const HostCopy&) = delete;

  // `source` may be a temporary: the stream-ordered allocator keeps its memory until the copy ran.
  void start(const at::Tensor& source);
  // The copied tensor (valid until the next start()).
  at::Tensor wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace higgs::gpu
