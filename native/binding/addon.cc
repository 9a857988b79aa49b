// Module entry of higgs_audio.node.
#include <napi.h>

#include "audio_functions.h"
#include "convert.h"
#include "engine/engine.h"
#include "engine_wrap.h"
#include "sample_stream_wrap.h"

namespace {
Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", higgs::binding::EngineWrap::define(env));
  exports.Set("AudioStretcher", higgs::binding::define_audio_stretcher(env));
  exports.Set("AudioResampler", higgs::binding::define_audio_resampler(env));
  higgs::binding::register_audio_functions(env, exports);
  exports.Set("cudaAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), higgs::cuda_available());
  }, "cudaAvailable"));
  exports.Set("constants", higgs::binding::write_constants(env));
  return exports;
}
}  // namespace

NODE_API_MODULE(higgs_audio, init)
