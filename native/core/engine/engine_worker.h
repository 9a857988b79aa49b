// One engine thread and its FIFO of jobs. The Engine has two: the LM's (load, generate, ...)
// and the codec's (decode, encode), so that a streaming client's audio windows are decoded
// while the generation that produces their frames keeps running. The LM's also has background
// work, the decode steps of its slot batch: queued jobs go first (they are short: admissions,
// cancels), and between two jobs the thread runs one unit of background work.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "errors.h"

namespace higgs {

class EngineWorker {
 public:
  // `setup` runs first on the new thread (intra-op thread count).
  void start(std::function<void()> setup) {
    thread_ = std::thread([this, setup = std::move(setup)] {
      if (setup) setup();
      run();
    });
  }

  // Background work for when no job is queued: it returns whether more is left. Set before
  // start(); called on this thread only.
  void set_background(std::function<bool()> work) { background_ = std::move(work); }

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) throw HiggsError(ErrorCode::NotLoaded, "the engine is shutting down");
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

  // Runs what is queued and the background work left, then joins.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    bool more = false;  // background work left (a job may have added some)
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!more) wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (!jobs_.empty()) {
          job = std::move(jobs_.front());
          jobs_.pop_front();
        } else if (!more) {
          return;  // stopping, and everything queued has run
        }
      }
      if (job) {
        job();
        more = static_cast<bool>(background_);
      } else {
        more = background_();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::function<bool()> background_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace higgs
