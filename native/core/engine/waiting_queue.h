// What waits on the LM thread behind the slot batch (Engine::State): generations for a free slot
// and exclusive jobs (load, forward, unload, ...) for the batch to drain, in order. Generations
// sort by their request's arrival (GenerateRequest::arrival), so a long request's continuation
// chunk goes before requests that came after it; an exclusive job, or a generation without an
// arrival, is never overtaken. When a chunk that says more follow ends, its request keeps a
// place for a moment (a hold): the next chunk is rendered on the library's thread after this one
// ends, and without the hold a later request would take the slot in between.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <vector>

#include "lm/generator.h"
#include "lm/generation_batch.h"

namespace higgs {

class WaitingQueue {
 public:
  using Clock = std::chrono::steady_clock;
  // How long a place is kept for a continuation chunk that has not come (a failed or abandoned
  // request); the chunk normally comes within milliseconds.
  static constexpr std::chrono::milliseconds kHoldFor{1000};

  struct Entry {
    std::function<void()> exclusive;  // or, when empty, a generation:
    lm::GenerationInput input;
    lm::GenerationCallbacks callbacks;
    lm::GenerationBatch::Done done;
    std::uint64_t arrival = 0;  // GenerateRequest::arrival (0 = behind everything)
  };

  bool empty() const { return entries_.empty(); }
  Entry& front() { return entries_.front(); }
  void pop_front() { entries_.pop_front(); }
  std::int64_t generations() const {
    return std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return !e.exclusive; });
  }

  void push_exclusive(std::function<void()> job) {
    Entry e;
    e.exclusive = std::move(job);
    entries_.push_back(std::move(e));
  }

  // Behind every generation that arrived no later, never before an exclusive job or a
  // generation without an arrival; it takes its request's hold, if any.
  void push(Entry e) {
    if (e.arrival != 0) {
      holds_.erase(std::remove_if(holds_.begin(), holds_.end(), [&](const Hold& h) { return h.arrival == e.arrival; }),
                   holds_.end());
    }
    auto position = entries_.end();
    if (e.arrival != 0) {
      while (position != entries_.begin()) {
        const auto& before = *std::prev(position);
        if (before.exclusive || before.arrival == 0 || before.arrival <= e.arrival) break;
        --position;
      }
    }
    entries_.insert(position, std::move(e));
  }

  // Keeps a free slot for the next chunk of the request with `arrival` for up to kHoldFor.
  void hold(std::uint64_t arrival) {
    forget_expired();
    if (arrival != 0) holds_.push_back({arrival, Clock::now() + kHoldFor});
  }

  // Free slots the front generation may not take: those held for requests that arrived before it.
  std::int64_t held_before(std::uint64_t arrival) {
    forget_expired();
    return std::count_if(holds_.begin(), holds_.end(),
                         [&](const Hold& h) { return arrival == 0 || h.arrival < arrival; });
  }

  // Drops the generations whose request was cancelled while they waited, reporting E_CANCELLED.
  template <typename Report>
  void drop_cancelled(Report report) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!it->exclusive && it->callbacks.cancelled && it->callbacks.cancelled()) {
        auto done = std::move(it->done);
        it = entries_.erase(it);
        report(done);
      } else {
        ++it;
      }
    }
  }

 private:
  struct Hold {
    std::uint64_t arrival;
    Clock::time_point until;
  };
  void forget_expired() {
    const auto now = Clock::now();
    holds_.erase(std::remove_if(holds_.begin(), holds_.end(), [&](const Hold& h) { return h.until <= now; }),
                 holds_.end());
  }

  std::deque<Entry> entries_;
  std::vector<Hold> holds_;
};

}  // namespace higgs
