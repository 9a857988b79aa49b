#include "sample_stream_wrap.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "audio_functions.h"
#include "convert.h"
#include "js_bridge.h"
#include "pool_task.h"

#ifdef HIGGS_HAVE_AUDIO
#include "audio/resample.h"
#include "audio/time_stretch.h"
#endif

namespace higgs::binding {
namespace {

#ifdef HIGGS_HAVE_AUDIO

// What each JS class names and how it builds its stream from the constructor's arguments.
struct StretcherKind {
  using Stream = audio::TimeStretcher;
  static constexpr const char* name = "AudioStretcher";
  static std::unique_ptr<Stream> make(const Napi::CallbackInfo& info) {
    const int rate = static_cast<int>(positive_number(info[0], "AudioStretcher: sampleRate"));
    return std::make_unique<Stream>(rate, positive_number(info[1], "AudioStretcher: speed"));
  }
};

struct ResamplerKind {
  using Stream = audio::StreamResampler;
  static constexpr const char* name = "AudioResampler";
  static std::unique_ptr<Stream> make(const Napi::CallbackInfo& info) {
    return std::make_unique<Stream>(positive_number(info[0], "AudioResampler: fromRate"),
                                    positive_number(info[1], "AudioResampler: toRate"));
  }
};

template <typename Kind>
class SampleStreamWrap : public Napi::ObjectWrap<SampleStreamWrap<Kind>> {
 public:
  // Shared with the pool task, so a collected wrapper never frees the stream mid-call.
  struct State {
    std::unique_ptr<typename Kind::Stream> stream;
    std::atomic<bool> busy{false};  // set and cleared on the JS thread (BusyUntilSettled)
  };

  static Napi::Function define(Napi::Env env) {
    return SampleStreamWrap::DefineClass(env, Kind::name,
                                         {SampleStreamWrap::template InstanceMethod<&SampleStreamWrap::push>("push"),
                                          SampleStreamWrap::template InstanceMethod<&SampleStreamWrap::finish>("finish")});
  }

  explicit SampleStreamWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SampleStreamWrap>(info) {
    state_ = std::make_shared<State>();
    try {
      state_->stream = Kind::make(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (...) {
      throw make_error(info.Env(), std::current_exception());  // E_INPUT for a bound out of range
    }
  }

 private:
  Napi::Value push(const Napi::CallbackInfo& info) {
    auto samples = std::make_shared<std::vector<float>>(typed_array<float>(info[0], (std::string(Kind::name) + ".push: samples").c_str()));
    return run_exclusive(info.Env(), "push", [samples](typename Kind::Stream& s) { return s.push(samples->data(), samples->size()); });
  }

  Napi::Value finish(const Napi::CallbackInfo& info) {
    return run_exclusive(info.Env(), "finish", [](typename Kind::Stream& s) { return s.finish(); });
  }

  // Runs `call` on the stream on the pool; E_INPUT (rejected) while another call runs.
  template <typename Call>
  Napi::Value run_exclusive(Napi::Env env, const char* method, Call call) {
    if (state_->busy.exchange(true)) {
      auto deferred = Napi::Promise::Deferred::New(env);
      deferred.Reject(input_error(env, std::string(Kind::name) + "." + method +
                                           ": another push() or finish() is still running (await each call)")
                          .Value());
      return deferred.Promise();
    }
    auto out = std::make_shared<std::vector<float>>();
    auto state = state_;
    // Busy until the pool task is destroyed on the JS thread, after its promise has settled: a
    // call made before then is refused however fast the pool work itself ended.
    auto settled = std::make_shared<BusyUntilSettled>(state);
    return run_on_pool(
        env, [state, out, call] { *out = call(*state->stream); },
        [out, settled](Napi::Env env) -> Napi::Value { return to_float32_array(env, *out); });
  }

  struct BusyUntilSettled {
    explicit BusyUntilSettled(std::shared_ptr<State> s) : state(std::move(s)) {}
    ~BusyUntilSettled() { state->busy = false; }
    std::shared_ptr<State> state;
  };

  std::shared_ptr<State> state_;
};

template <typename Kind>
Napi::Function define_stream(Napi::Env env) {
  return SampleStreamWrap<Kind>::define(env);
}

#else

struct StretcherKind {
  static constexpr const char* name = "AudioStretcher";
};
struct ResamplerKind {
  static constexpr const char* name = "AudioResampler";
};

// Without the audio module: a class whose constructor says so.
template <typename Kind>
Napi::Function define_stream(Napi::Env env) {
  return Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value { throw no_audio_module_error(info.Env()); },
                             Kind::name);
}

#endif

}  // namespace

Napi::Function define_audio_stretcher(Napi::Env env) { return define_stream<StretcherKind>(env); }
Napi::Function define_audio_resampler(Napi::Env env) { return define_stream<ResamplerKind>(env); }

}  // namespace higgs::binding
