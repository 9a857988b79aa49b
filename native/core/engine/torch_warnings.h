// libtorch's warnings (TORCH_WARN) go to stderr by default, as raw text between our JSON log
// lines. TorchWarningLog hands each to a log sink instead, once per distinct message. c10's
// warning handler is thread-local, so it is installed on each thread that runs libtorch work
// (the Engine's LM and codec threads). No libtorch types here.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace higgs {

// Where the engine's log lines go: a level ("warn") and a message. Called on an engine thread.
using LogSink = std::function<void(const std::string& level, const std::string& message)>;

class TorchWarningLog {
 public:
  // After `max_distinct` distinct messages one note says so and later new ones are dropped:
  // messages that embed values (shapes, sizes) must not grow the set, or the log, forever.
  explicit TorchWarningLog(LogSink sink, std::size_t max_distinct = 256);
  ~TorchWarningLog();
  TorchWarningLog(const TorchWarningLog&) = delete;
  TorchWarningLog& operator=(const TorchWarningLog&) = delete;

  // libtorch's warnings raised on the calling thread come here from now on. This object must
  // outlive the thread's libtorch work (the Engine joins its threads before dropping it).
  void install_on_this_thread();

 private:
  class Handler;
  std::unique_ptr<Handler> handler_;
};

}  // namespace higgs
