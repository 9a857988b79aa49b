// The Engine's log sink (engine/torch_warnings.h) seen from JS: each (level, message) the engine
// threads report is handed to a JS callback on the JS thread, through a ThreadSafeFunction that
// does not keep the process alive.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>

#include "engine/engine.h"

namespace higgs::binding {

class EngineLogRelay : public std::enable_shared_from_this<EngineLogRelay> {
 public:
  // On the JS thread.
  static std::shared_ptr<EngineLogRelay> create(Napi::Env env, Napi::Function callback);
  // For the Engine: callable from any thread; after release() (or Node's teardown) it drops lines.
  LogSink sink();
  // On the JS thread, once the engine's threads are joined (dispose, or the wrapper's finalizer).
  void release();

 private:
  std::mutex mutex_;  // orders the engine threads' calls against release() and the finalizer
  bool open_ = false;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace higgs::binding
