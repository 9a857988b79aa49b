#include "audio_functions.h"

#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "convert.h"
#include "js_bridge.h"
#include "pool_task.h"

#ifdef HIGGS_HAVE_AUDIO
#include "audio/audio_file.h"
#include "audio/audio_format.h"
#include "audio/resample.h"
#include "audio/time_stretch.h"
#endif

namespace higgs::binding {
namespace {

#ifdef HIGGS_HAVE_AUDIO

Napi::Value read_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto data = std::make_shared<std::vector<std::uint8_t>>(typed_array<std::uint8_t>(info[0], "readAudio: the audio (a Buffer)"));
  audio::ReadLimits limits;
  if (info[1].IsObject()) {
    auto o = info[1].As<Napi::Object>();
    if (o.Has("maxBytes")) limits.max_bytes = static_cast<std::size_t>(positive_number(o.Get("maxBytes"), "maxBytes"));
    if (o.Has("maxSeconds")) limits.max_seconds = positive_number(o.Get("maxSeconds"), "maxSeconds");
  }
  auto out = std::make_shared<audio::DecodedAudio>();
  return run_on_pool(
      env, [data, limits, out] { *out = audio::read_audio(data->data(), data->size(), limits); },
      [out](Napi::Env env) -> Napi::Value {
        auto o = Napi::Object::New(env);
        o.Set("samples", to_float32_array(env, out->samples));
        o.Set("sampleRate", out->sample_rate);
        o.Set("channels", out->channels);
        o.Set("format", out->format);
        o.Set("durationSeconds", out->duration_seconds());
        return o;
      });
}

Napi::Value write_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto samples = std::make_shared<std::vector<float>>(typed_array<float>(info[0], "writeAudio: samples"));
  const int rate = static_cast<int>(positive_number(info[1], "writeAudio: sampleRate"));
  if (!info[2].IsString()) throw input_error(env, "writeAudio: format must be a string");
  const auto name = info[2].As<Napi::String>().Utf8Value();
  const auto format = audio::parse_audio_format(name);
  if (!format) throw input_error(env, "writeAudio: unknown format '" + name + "' (wav, flac, mp3, opus, vorbis)");
  auto out = std::make_shared<std::vector<std::uint8_t>>();
  auto stored_rate = std::make_shared<int>(audio::encoded_sample_rate(rate, *format));
  return run_on_pool(
      env, [samples, rate, format, out] { *out = audio::write_audio(samples->data(), samples->size(), rate, *format); },
      [out, stored_rate](Napi::Env env) -> Napi::Value {
        auto o = Napi::Object::New(env);
        o.Set("bytes", Napi::Buffer<std::uint8_t>::Copy(env, out->data(), out->size()));
        o.Set("sampleRate", *stored_rate);
        return o;
      });
}

Napi::Value resample_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto samples = std::make_shared<std::vector<float>>(typed_array<float>(info[0], "resampleAudio: samples"));
  const double from = positive_number(info[1], "resampleAudio: fromRate");
  const double to = positive_number(info[2], "resampleAudio: toRate");
  auto out = std::make_shared<std::vector<float>>();
  return run_on_pool(
      env, [samples, from, to, out] { *out = audio::resample(samples->data(), samples->size(), from, to); },
      [out](Napi::Env env) -> Napi::Value { return to_float32_array(env, *out); });
}

Napi::Value stretch_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto samples = std::make_shared<std::vector<float>>(typed_array<float>(info[0], "stretchAudio: samples"));
  const int rate = static_cast<int>(positive_number(info[1], "stretchAudio: sampleRate"));
  const double speed = positive_number(info[2], "stretchAudio: speed");  // its range: the core's (E_INPUT)
  auto out = std::make_shared<std::vector<float>>();
  return run_on_pool(
      env, [samples, rate, speed, out] { *out = audio::time_stretch(samples->data(), samples->size(), rate, speed); },
      [out](Napi::Env env) -> Napi::Value { return to_float32_array(env, *out); });
}

Napi::Value audio_formats(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  auto read = Napi::Array::New(env);
  for (const auto& name : audio::supported_read_formats()) read.Set(read.Length(), name);
  auto write = Napi::Array::New(env);
  for (auto format : audio::supported_write_formats()) write.Set(write.Length(), audio::audio_format_name(format));
  o.Set("read", read);
  o.Set("write", write);
  return o;
}

#else

Napi::Value unavailable(const Napi::CallbackInfo& info) { throw no_audio_module_error(info.Env()); }

#endif

}  // namespace

Napi::Error no_audio_module_error(Napi::Env env) {
  return make_error(env, "E_INTERNAL",
                    "this build of higgs-audio has no audio-file module (libsndfile, libsoxr and librubberband "
                    "were not all found at build time)");
}

void register_audio_functions(Napi::Env env, Napi::Object exports) {
#ifdef HIGGS_HAVE_AUDIO
  exports.Set("readAudio", Napi::Function::New(env, read_audio, "readAudio"));
  exports.Set("writeAudio", Napi::Function::New(env, write_audio, "writeAudio"));
  exports.Set("resampleAudio", Napi::Function::New(env, resample_audio, "resampleAudio"));
  exports.Set("stretchAudio", Napi::Function::New(env, stretch_audio, "stretchAudio"));
  exports.Set("audioFormats", Napi::Function::New(env, audio_formats, "audioFormats"));
  exports.Set("hasAudio", Napi::Boolean::New(env, true));
#else
  for (const char* name : {"readAudio", "writeAudio", "resampleAudio", "stretchAudio", "audioFormats"}) {
    exports.Set(name, Napi::Function::New(env, unavailable, name));
  }
  exports.Set("hasAudio", Napi::Boolean::New(env, false));
#endif
}

}  // namespace higgs::binding
