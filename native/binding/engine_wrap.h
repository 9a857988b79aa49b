// JS class `Engine`: a thin ObjectWrap over higgs::Engine. Argument checking and conversion
// only; every heavy call is queued on the engine thread and returns a Promise.
#pragma once

#include <napi.h>

#include <memory>

#include "engine/engine.h"
#include "engine_log.h"
#include "js_bridge.h"

namespace higgs::binding {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit EngineWrap(const Napi::CallbackInfo& info);  // (options?, onLog?(level, message))
  ~EngineWrap() override;

 private:
  Napi::Value load(const Napi::CallbackInfo& info);
  Napi::Value forward(const Napi::CallbackInfo& info);
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value load_codec(const Napi::CallbackInfo& info);
  Napi::Value decode_audio(const Napi::CallbackInfo& info);
  Napi::Value encode_audio(const Napi::CallbackInfo& info);
  Napi::Value codec_info(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value gpu_memory(const Napi::CallbackInfo& info);
  Napi::Value batch_status(const Napi::CallbackInfo& info);
  Napi::Value reset_peak_gpu_memory(const Napi::CallbackInfo& info);
  Napi::Value release_cached_memory(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  Engine& engine(Napi::Env env);  // throws E_NOT_LOADED after dispose()
  std::shared_ptr<PendingPromise> settle_on_js_thread(Napi::Env env, const char* name);
  void after_settle();  // on the JS thread, after any call's Promise settled

  std::shared_ptr<EngineLogRelay> log_;  // null without onLog; released once the engine is gone
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Engine> disposing_;  // disposed, waiting for its queue to drain
};

}  // namespace higgs::binding
