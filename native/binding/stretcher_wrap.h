// JS class `AudioStretcher`: a stream time-stretched piece by piece (audio::TimeStretcher,
// Rubber Band in real-time mode). push() and finish() run on the libuv pool and return Promises;
// a call while another is still in flight is rejected with E_INPUT rather than queued, since the
// stretcher keeps state between calls and the caller owns their order. Without the audio module
// the constructor throws (no_audio_module_error).
#pragma once

#include <napi.h>

#include <memory>

namespace higgs::binding {

class StretcherWrap : public Napi::ObjectWrap<StretcherWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit StretcherWrap(const Napi::CallbackInfo& info);
  struct State;  // shared with the pool task, so a collected wrapper never frees it mid-call

 private:
  Napi::Value push(const Napi::CallbackInfo& info);
  Napi::Value finish(const Napi::CallbackInfo& info);

  std::shared_ptr<State> state_;
};

}  // namespace higgs::binding
