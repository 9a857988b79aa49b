// Facts about the machine the engine runs on, read at run time: the memory this process could
// still get, and whether the CPU has native bf16 dot products. No libtorch here.
#pragma once

#include <cstdint>

namespace higgs::engine_detail {

// The least of /proc/meminfo's MemAvailable and the cgroup's limit less its usage (v2
// memory.max - memory.current, v1 memory.limit_in_bytes - memory.usage_in_bytes), in bytes;
// 0 when unknown.
std::int64_t available_host_memory();

struct CpuBf16 {
  bool avx512_bf16 = false;  // AVX512-BF16 (vdpbf16ps), with the OS saving zmm state
  bool amx_bf16 = false;     // AMX-BF16 tiles, with the OS saving tile state
};
// cpuid and xgetbv on x86-64; all false elsewhere.
CpuBf16 cpu_bf16();

}  // namespace higgs::engine_detail
