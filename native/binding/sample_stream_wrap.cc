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
#include "audio/audio_format.h"
#include "audio/resample.h"
#include "audio/stream_encoder.h"
#include "audio/time_stretch.h"
#endif

namespace higgs::binding {
namespace {

#ifdef HIGGS_HAVE_AUDIO

// What each JS class names, how it builds its stream from the constructor's arguments, and what
// its calls give JS (samples as a Float32Array, or bytes as a Buffer).
struct SamplesOut {
  using Output = std::vector<float>;
  static Napi::Value to_js(Napi::Env env, const Output& out) { return to_float32_array(env, out); }
};

struct StretcherKind : SamplesOut {
  using Stream = audio::TimeStretcher;
  static constexpr const char* name = "AudioStretcher";
  static std::unique_ptr<Stream> make(const Napi::CallbackInfo& info) {
    const int rate = static_cast<int>(positive_number(info[0], "AudioStretcher: sampleRate"));
    return std::make_unique<Stream>(rate, positive_number(info[1], "AudioStretcher: speed"));
  }
};

struct ResamplerKind : SamplesOut {
  using Stream = audio::StreamResampler;
  static constexpr const char* name = "AudioResampler";
  static std::unique_ptr<Stream> make(const Napi::CallbackInfo& info) {
    return std::make_unique<Stream>(positive_number(info[0], "AudioResampler: fromRate"),
                                    positive_number(info[1], "AudioResampler: toRate"));
  }
};

// "pcm" is the samples of a wav stream without its header.
struct EncoderKind {
  using Stream = audio::StreamEncoder;
  using Output = std::vector<std::uint8_t>;
  static constexpr const char* name = "AudioStreamEncoder";
  static std::unique_ptr<Stream> make(const Napi::CallbackInfo& info) {
    if (!info[0].IsString()) throw input_error(info.Env(), "AudioStreamEncoder: format must be a string");
    const auto name = info[0].As<Napi::String>().Utf8Value();
    const bool pcm = name == "pcm";
    const auto format = pcm ? audio::AudioFormat::Wav : audio::parse_audio_format(name);
    if (!format) throw input_error(info.Env(), "AudioStreamEncoder: unknown format '" + name + "' (pcm, wav, flac, mp3, opus, vorbis, ulaw, alaw)");
    return std::make_unique<Stream>(*format, static_cast<int>(positive_number(info[1], "AudioStreamEncoder: sampleRate")), pcm);
  }
  static Napi::Value to_js(Napi::Env env, const Output& out) { return Napi::Buffer<std::uint8_t>::Copy(env, out.data(), out.size()); }
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
    auto out = std::make_shared<typename Kind::Output>();
    auto state = state_;
    // Busy until the pool task is destroyed on the JS thread, after its promise has settled: a
    // call made before then is refused however fast the pool work itself ended.
    auto settled = std::make_shared<BusyUntilSettled>(state);
    return run_on_pool(
        env, [state, out, call] { *out = call(*state->stream); },
        [out, settled](Napi::Env env) -> Napi::Value { return Kind::to_js(env, *out); });
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
struct EncoderKind {
  static constexpr const char* name = "AudioStreamEncoder";
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
Napi::Function define_audio_stream_encoder(Napi::Env env) { return define_stream<EncoderKind>(env); }

}  // namespace higgs::binding
