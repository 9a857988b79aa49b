#include "stretcher_wrap.h"

#include <atomic>
#include <string>
#include <vector>

#include "audio_functions.h"
#include "convert.h"
#include "js_bridge.h"
#include "pool_task.h"

#ifdef HIGGS_HAVE_AUDIO
#include "audio/time_stretch.h"
#endif

namespace higgs::binding {

#ifdef HIGGS_HAVE_AUDIO

struct StretcherWrap::State {
  std::unique_ptr<audio::TimeStretcher> stretcher;
  std::atomic<bool> busy{false};  // set on the JS thread, cleared when the pool work ends
};

namespace {

// Runs `call` on the stretcher on the pool; E_INPUT (rejected) while another call runs.
template <typename Call>
Napi::Value run_exclusive(Napi::Env env, const std::shared_ptr<StretcherWrap::State>& state, const char* name, Call call) {
  if (state->busy.exchange(true)) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(input_error(env, std::string("AudioStretcher.") + name +
                                         ": another push() or finish() is still running (await each call)")
                        .Value());
    return deferred.Promise();
  }
  auto out = std::make_shared<std::vector<float>>();
  return run_on_pool(
      env,
      [state, out, call] {
        struct Release {
          std::atomic<bool>& busy;
          ~Release() { busy = false; }
        } release{state->busy};
        *out = call(*state->stretcher);
      },
      [out](Napi::Env env) -> Napi::Value { return to_float32_array(env, *out); });
}

}  // namespace

StretcherWrap::StretcherWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StretcherWrap>(info) {
  auto env = info.Env();
  const int rate = static_cast<int>(positive_number(info[0], "AudioStretcher: sampleRate"));
  const double speed = positive_number(info[1], "AudioStretcher: speed");
  state_ = std::make_shared<State>();
  try {
    state_->stretcher = std::make_unique<audio::TimeStretcher>(rate, speed);
  } catch (...) {
    throw make_error(env, std::current_exception());  // E_INPUT for a speed out of range
  }
}

Napi::Value StretcherWrap::push(const Napi::CallbackInfo& info) {
  auto samples = std::make_shared<std::vector<float>>(typed_array<float>(info[0], "AudioStretcher.push: samples"));
  return run_exclusive(info.Env(), state_, "push", [samples](audio::TimeStretcher& s) {
    return s.push(samples->data(), samples->size());
  });
}

Napi::Value StretcherWrap::finish(const Napi::CallbackInfo& info) {
  return run_exclusive(info.Env(), state_, "finish", [](audio::TimeStretcher& s) { return s.finish(); });
}

#else

struct StretcherWrap::State {};

StretcherWrap::StretcherWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StretcherWrap>(info) {
  throw no_audio_module_error(info.Env());
}
Napi::Value StretcherWrap::push(const Napi::CallbackInfo& info) { throw no_audio_module_error(info.Env()); }
Napi::Value StretcherWrap::finish(const Napi::CallbackInfo& info) { throw no_audio_module_error(info.Env()); }

#endif

Napi::Function StretcherWrap::define(Napi::Env env) {
  return DefineClass(env, "AudioStretcher",
                     {InstanceMethod<&StretcherWrap::push>("push"), InstanceMethod<&StretcherWrap::finish>("finish")});
}

}  // namespace higgs::binding
