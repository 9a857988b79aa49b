// Handing freed heap memory back to the system. glibc keeps what a large request freed (the
// codec's working tensors, resampled and stretched copies) in its per-thread arenas, so a process
// that served one long decode stays hundreds of MB larger for good. No libtorch types here.
#pragma once

namespace higgs {

// Returns the free pages of every malloc arena to the system (malloc_trim on glibc; nothing
// elsewhere). Costs a walk over the arenas: call it after large work, not after every step.
void release_free_memory();

}  // namespace higgs
