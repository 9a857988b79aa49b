// How many slots (KV caches of max_context positions) an engine may hold: the default derived
// from a GPU's free memory, and the check that refuses slots the device cannot hold. Pure
// arithmetic on byte counts; Engine::State reads the memory numbers at load.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "errors.h"

namespace higgs {

// At most this many slots are derived; more must be asked for (EngineOptions::slots).
constexpr std::int64_t kMaxDerivedSlots = 32;
// Kept out of the derivation on a GPU: the codec's working memory, activations, the allocator.
constexpr std::int64_t kGpuWorkingReserve = std::int64_t{4} << 30;
// The same on the CPU (no allocator cache, no graph pools): counted in a load's needs.
constexpr std::int64_t kCpuWorkingReserve = std::int64_t{1} << 30;

inline std::int64_t working_reserve(bool cuda) { return cuda ? kGpuWorkingReserve : kCpuWorkingReserve; }

// The KV caches a load allocates for EngineOptions::slots (`slots`) and the decode in use:
// eager decode makes `slots` caches (0 = the default: 4 on the CPU; on a GPU the derivation
// takes only what is left, so 1 is counted), static/graph decode one, plus an arena of `slots`
// rows when slots > 1 (engine_state.h install()).
inline std::int64_t kv_caches_at_load(std::int64_t slots, bool eager, bool cuda, std::int64_t cpu_default_slots) {
  if (slots > 1) return eager ? slots : slots + 1;
  if (slots == 0 && eager && !cuda) return cpu_default_slots;
  return 1;
}

// E_OOM before anything is allocated, when the weights (as held: dtype or int8), the KV caches and
// the working reserve need more than `available` bytes (0 = unknown: not checked). `what` names
// the load ("float32 weights of model_dir ..."), `device` where ("this machine", "the GPU").
inline void check_load_memory(std::int64_t weight_bytes, std::int64_t kv_bytes, std::int64_t reserve_bytes,
                              std::int64_t available, const std::string& what, const std::string& device) {
  const auto needed = static_cast<double>(weight_bytes) + static_cast<double>(kv_bytes) + static_cast<double>(reserve_bytes);
  if (available <= 0 || needed <= static_cast<double>(available)) return;
  auto mib = [](double bytes) { return std::to_string(static_cast<long long>(bytes / 1048576.0)) + " MiB"; };
  throw HiggsError(ErrorCode::OutOfMemory,
                   "loading " + what + " needs " + mib(needed) + " (" + std::to_string(static_cast<long long>(needed)) +
                       " bytes: weights " + mib(static_cast<double>(weight_bytes)) + ", KV caches " +
                       mib(static_cast<double>(kv_bytes)) + ", working reserve " + mib(static_cast<double>(reserve_bytes)) +
                       "), and " + device + " has " + mib(static_cast<double>(available)) + " (" +
                       std::to_string(available) + " bytes) available: lower max_context or slots, or use bfloat16 or int8 weights");
}

// The share of the free memory that new KV caches may take (check_slot_memory refuses more).
constexpr double kMaxSlotMemoryShare = 0.75;

// Slot 0's cache exists already (the model's); the others take what `available` bytes leave
// after the reserve, and never more than check_slot_memory accepts (so a GPU's default slots are
// never refused, as 16 were on 17.8 GiB free), at least 1 slot in all, at most kMaxDerivedSlots.
inline std::int64_t derived_slots(std::int64_t available, std::int64_t cache_bytes) {
  if (available <= 0 || cache_bytes <= 0) return 1;
  const auto by_reserve = std::max<std::int64_t>(0, available - kGpuWorkingReserve) / cache_bytes;
  const auto by_share = static_cast<std::int64_t>(kMaxSlotMemoryShare * static_cast<double>(available) /
                                                  static_cast<double>(cache_bytes));
  return std::clamp<std::int64_t>(1 + std::min(by_reserve, by_share), 1, kMaxDerivedSlots);
}

// E_INPUT when the `new_caches` KV caches `slots` slots allocate (slots - 1 with eager decode,
// whose slot 0 is the model's cache; slots with static decode, whose rows live in one arena)
// would take more than three quarters of `available` (0 = unknown: not checked).
inline void check_slot_memory(std::int64_t slots, std::int64_t new_caches, std::int64_t cache_bytes,
                              std::int64_t available, const std::string& device) {
  const auto needed = static_cast<double>(new_caches) * static_cast<double>(cache_bytes);
  if (available > 0 && needed > kMaxSlotMemoryShare * static_cast<double>(available)) {
    throw HiggsError(ErrorCode::Input, std::to_string(slots) + " slots need " + std::to_string(new_caches) +
                                           " more KV caches of " + std::to_string(cache_bytes >> 20) + " MiB, and " +
                                           device + " has " + std::to_string(available >> 20) +
                                           " MiB free: lower slots or max_context");
  }
}

}  // namespace higgs
