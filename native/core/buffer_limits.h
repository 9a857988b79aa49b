// The bounds the core itself enforces because its buffers depend on them. Everything else a
// request may or may not hold is checked once, by the request schema (lib/request); the addon
// exports these as `constants.limits`, and a test holds the schema to them.
#pragma once

#include <cstdint>

namespace higgs {

// Longest RAS window the decode state's history buffer holds (every decode path).
constexpr std::int64_t kMaxRasWindow = 64;

// Most slots (generations decoded together, each with its own KV cache) an engine takes; load
// also refuses slots whose KV caches would not fit in the memory the device has.
constexpr std::int64_t kMaxSlots = 256;

}  // namespace higgs
