// Module entry of higgs_audio.node.
#include <napi.h>

#include "audio_functions.h"
#include "convert.h"
#include "engine/engine.h"
#include "engine_wrap.h"
#include "js_bridge.h"
#include "memory_release.h"
#include "pool_task.h"
#include "quantize_function.h"
#include "sample_stream_wrap.h"

namespace {
Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", higgs::binding::EngineWrap::define(env));
  exports.Set("AudioStretcher", higgs::binding::define_audio_stretcher(env));
  exports.Set("AudioResampler", higgs::binding::define_audio_resampler(env));
  exports.Set("AudioStreamEncoder", higgs::binding::define_audio_stream_encoder(env));
  higgs::binding::register_audio_functions(env, exports);
  higgs::binding::register_quantize_function(env, exports);
  exports.Set("cudaAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), higgs::cuda_available());
  }, "cudaAvailable"));
  exports.Set("hostInfo", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return higgs::binding::write_host_info(info.Env(), higgs::host_info());
  }, "hostInfo"));
  exports.Set("planLoad", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) {
      higgs::binding::input_error(info.Env(), "planLoad(modelDir, options): modelDir must be a string").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    try {
      const auto options = higgs::binding::read_engine_options(info.Length() > 1 ? info[1] : info.Env().Undefined());
      return higgs::binding::write_load_plan(info.Env(), higgs::plan_load(info[0].As<Napi::String>().Utf8Value(), options));
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
    } catch (...) {
      higgs::binding::make_error(info.Env(), std::current_exception()).ThrowAsJavaScriptException();
    }
    return info.Env().Undefined();
  }, "planLoad"));
  exports.Set("releaseMemory", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return higgs::binding::run_on_pool(info.Env(), [] { higgs::release_free_memory(); },
                                       [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }, "releaseMemory"));
  exports.Set("constants", higgs::binding::write_constants(env));
  exports.Set("buildInfo", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return higgs::binding::write_build_info(info.Env(), higgs::build_info());
  }, "buildInfo"));
  return exports;
}
}  // namespace

NODE_API_MODULE(higgs_audio, init)
