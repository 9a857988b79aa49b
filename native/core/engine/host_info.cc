#include "engine/host_info.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace higgs::engine_detail {
namespace {

// One integer from a file ("max" or anything unreadable: -1).
std::int64_t read_number(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text)) return -1;
  try {
    std::size_t used = 0;
    const auto value = std::stoll(text, &used);
    return used == text.size() ? value : -1;
  } catch (...) {
    return -1;
  }
}

// What the cgroup still lets this process have: limit - usage, or -1 without a limit.
std::int64_t cgroup_headroom() {
  // A limit this large is no limit (cgroup v1 writes ~2^63 rounded to pages).
  constexpr std::int64_t kNoLimit = std::int64_t{1} << 60;
  for (const auto& [limit_path, usage_path] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const auto limit = read_number(limit_path);
    if (limit <= 0 || limit >= kNoLimit) continue;
    const auto usage = read_number(usage_path);
    return std::max<std::int64_t>(0, limit - std::max<std::int64_t>(0, usage));
  }
  return -1;
}

}  // namespace

std::int64_t available_host_memory() {
  std::int64_t available = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  std::int64_t kib = 0;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
  }
  const auto headroom = cgroup_headroom();
  if (headroom >= 0) available = available > 0 ? std::min(available, headroom) : headroom;
  return available;
}

CpuBf16 cpu_bf16() {
  CpuBf16 result;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return result;  // OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const std::uint64_t xcr0 = (static_cast<std::uint64_t>(xcr0_hi) << 32) | xcr0_lo;
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;                          // SSE, AVX, opmask, ZMM
  const bool tile_state = (xcr0 & (std::uint64_t{3} << 17)) == (std::uint64_t{3} << 17);  // XTILECFG, XTILEDATA
  if (__get_cpuid_max(0, nullptr) < 7) return result;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx512f = b & (1u << 16);
  const bool amx_bf16 = d & (1u << 22);
  const bool amx_tile = d & (1u << 24);
  const unsigned max_subleaf = a;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    avx512_bf16 = a & (1u << 5);
  }
  result.avx512_bf16 = avx512f && avx512_bf16 && zmm_state;
  // Linux grants the tile state on request (oneDNN asks); XCR0 says the kernel supports it.
  result.amx_bf16 = amx_bf16 && amx_tile && tile_state;
#endif
  return result;
}

}  // namespace higgs::engine_detail
