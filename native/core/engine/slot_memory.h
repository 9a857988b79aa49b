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

// Slot 0's cache exists already (the model's); the others take what `available` bytes leave
// after the reserve, at least 1 slot in all, at most kMaxDerivedSlots.
inline std::int64_t derived_slots(std::int64_t available, std::int64_t cache_bytes) {
  const auto usable = available - kGpuWorkingReserve;
  const auto extra = usable > 0 && cache_bytes > 0 ? usable / cache_bytes : 0;
  return std::clamp<std::int64_t>(1 + extra, 1, kMaxDerivedSlots);
}

// E_INPUT when the `new_caches` KV caches `slots` slots allocate (slots - 1 with eager decode,
// whose slot 0 is the model's cache; slots with static decode, whose rows live in one arena)
// would take more than three quarters of `available` (0 = unknown: not checked).
inline void check_slot_memory(std::int64_t slots, std::int64_t new_caches, std::int64_t cache_bytes,
                              std::int64_t available, const std::string& device) {
  const auto needed = static_cast<double>(new_caches) * static_cast<double>(cache_bytes);
  if (available > 0 && needed > 0.75 * static_cast<double>(available)) {
    throw HiggsError(ErrorCode::Input, std::to_string(slots) + " slots need " + std::to_string(new_caches) +
                                           " more KV caches of " + std::to_string(cache_bytes >> 20) + " MiB, and " +
                                           device + " has " + std::to_string(available >> 20) +
                                           " MiB free: lower slots or max_context");
  }
}

}  // namespace higgs
