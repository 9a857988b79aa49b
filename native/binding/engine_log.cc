#include "engine_log.h"

#include <string>
#include <utility>

namespace higgs::binding {

namespace {
using Line = std::pair<std::string, std::string>;  // level, message

void deliver(Napi::Env env, Napi::Function callback, Line* line) {
  const Line copy = std::move(*line);
  delete line;
  if (env == nullptr || callback.IsEmpty()) return;  // torn down with lines still queued
  try {
    callback.Call({Napi::String::New(env, copy.first), Napi::String::New(env, copy.second)});
  } catch (const Napi::Error&) {
    // A throwing log callback loses its line; it must not take the engine's work down with it.
  }
}
}  // namespace

std::shared_ptr<EngineLogRelay> EngineLogRelay::create(Napi::Env env, Napi::Function callback) {
  auto relay = std::make_shared<EngineLogRelay>();
  std::weak_ptr<EngineLogRelay> weak = relay;
  // The finalizer also runs when Node tears the environment down before release(): from then on
  // the function is gone, and the engine threads must not call it.
  relay->tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "higgs.log", /*max_queue_size=*/0,
                                               /*initial_thread_count=*/1, [weak](Napi::Env) {
                                                 if (auto self = weak.lock()) {
                                                   std::lock_guard<std::mutex> lock(self->mutex_);
                                                   self->open_ = false;
                                                 }
                                               });
  relay->tsfn_.Unref(env);  // a quiet engine must not hold the process open
  relay->open_ = true;
  return relay;
}

LogSink EngineLogRelay::sink() {
  return [self = shared_from_this()](const std::string& level, const std::string& message) {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->open_) return;
    auto* line = new Line(level, message);
    if (self->tsfn_.NonBlockingCall(line, deliver) != napi_ok) delete line;
  };
}

void EngineLogRelay::release() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  open_ = false;
  tsfn_.Release();
}

}  // namespace higgs::binding
