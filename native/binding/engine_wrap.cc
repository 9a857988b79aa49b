#include "engine_wrap.h"

#include "errors.h"
#include "generate_call.h"
#include "js_bridge.h"

namespace higgs::binding {
namespace {


EngineOptions parse_options(const Napi::Value& value) {
  EngineOptions options;
  if (value.IsUndefined()) return options;
  if (!value.IsObject()) throw input_error(value.Env(), "Engine options must be an object");
  auto object = value.As<Napi::Object>();
  auto get_string = [&](const char* key, std::string& out) {
    auto v = object.Get(key);
    if (v.IsUndefined()) return;
    if (!v.IsString()) throw input_error(value.Env(), std::string("options.") + key + " must be a string");
    out = v.As<Napi::String>().Utf8Value();
  };
  auto get_int = [&](const char* key, std::int64_t& out) {
    auto v = object.Get(key);
    if (v.IsUndefined()) return;
    if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0) {
      throw input_error(value.Env(), std::string("options.") + key + " must be a non-negative number");
    }
    out = v.As<Napi::Number>().Int64Value();
  };
  get_string("device", options.device);
  get_string("dtype", options.dtype);
  get_int("maxContext", options.max_context);
  std::int64_t threads = options.threads;
  get_int("threads", threads);
  options.threads = static_cast<int>(threads);
  if (options.max_context < 1) throw input_error(value.Env(), "options.maxContext must be at least 1");
  return options;
}

Napi::Object info_to_js(Napi::Env env, const ModelInfo& m) {
  auto o = Napi::Object::New(env);
  o.Set("modelDir", m.model_dir);
  o.Set("format", m.format);
  o.Set("device", m.device);
  o.Set("dtype", m.dtype);
  auto num = [&](const char* key, double v) { o.Set(key, Napi::Number::New(env, v)); };
  num("vocabSize", m.vocab_size);
  num("hiddenSize", m.hidden_size);
  num("numLayers", m.num_layers);
  num("numHeads", m.num_heads);
  num("numKvHeads", m.num_kv_heads);
  num("numCodebooks", m.num_codebooks);
  num("codebookVocab", m.codebook_vocab);
  num("maxContext", m.max_context);
  num("parameterCount", m.parameter_count);
  num("weightBytes", m.weight_bytes);
  num("kvCacheBytes", m.kv_cache_bytes);
  num("loadSeconds", m.load_seconds);
  o.Set("hasTextHead", m.has_text_head);
  return o;
}

template <typename T, typename TypedArray, napi_typedarray_type kType>
std::vector<T> copy_typed_array(const Napi::Object& request, const char* key, bool optional) {
  auto v = request.Get(key);
  if (v.IsUndefined() && optional) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType) {
    throw input_error(request.Env(), std::string("forward: ") + key + " must be a " +
                                         (std::is_same_v<T, std::uint8_t> ? "Uint8Array" : "Int32Array"));
  }
  auto array = v.As<TypedArray>();
  return std::vector<T>(array.Data(), array.Data() + array.ElementLength());
}

ForwardRequest parse_forward(const Napi::Value& value) {
  auto env = value.Env();
  if (!value.IsObject()) throw input_error(env, "forward: the request must be an object");
  auto o = value.As<Napi::Object>();
  ForwardRequest r;
  r.input_ids = copy_typed_array<std::int32_t, Napi::Int32Array, napi_int32_array>(o, "inputIds", false);
  r.audio_mask = copy_typed_array<std::uint8_t, Napi::Uint8Array, napi_uint8_array>(o, "audioMask", false);
  r.audio_codes = copy_typed_array<std::int32_t, Napi::Int32Array, napi_int32_array>(o, "audioCodes", true);
  auto start = o.Get("startPos");
  if (!start.IsUndefined()) {
    if (!start.IsNumber() || start.As<Napi::Number>().DoubleValue() < 0) {
      throw input_error(env, "forward: startPos must be a non-negative number");
    }
    r.start_pos = start.As<Napi::Number>().Int64Value();
  }
  auto logits = o.Get("logits");
  if (!logits.IsUndefined()) {
    const std::string s = logits.IsString() ? logits.As<Napi::String>().Utf8Value() : "";
    if (s == "last") r.logits = LogitsSelection::Last;
    else if (s == "all") r.logits = LogitsSelection::All;
    else if (s == "audio") r.logits = LogitsSelection::Audio;
    else throw input_error(env, "forward: logits must be 'last', 'all' or 'audio'");
  }
  r.text_logits = o.Get("textLogits").ToBoolean().Value();
  return r;
}

Napi::Value result_to_js(Napi::Env env, const ForwardResult& r) {
  auto o = Napi::Object::New(env);
  auto positions = Napi::Int32Array::New(env, r.positions.size());
  for (size_t i = 0; i < r.positions.size(); ++i) positions[i] = static_cast<std::int32_t>(r.positions[i]);
  o.Set("positions", positions);
  o.Set("audioLogits", to_float32_array(env, r.audio_logits));
  if (r.text_logits.empty()) {
    o.Set("textLogits", env.Null());
  } else {
    o.Set("textLogits", to_float32_array(env, r.text_logits));
  }
  o.Set("numCodebooks", Napi::Number::New(env, r.num_codebooks));
  o.Set("codebookVocab", Napi::Number::New(env, r.codebook_vocab));
  o.Set("vocabSize", Napi::Number::New(env, r.vocab_size));
  o.Set("seconds", Napi::Number::New(env, r.seconds));
  return o;
}

}  // namespace

Napi::Function EngineWrap::define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {InstanceMethod<&EngineWrap::load>("load"), InstanceMethod<&EngineWrap::load_random>("loadRandom"),
                      InstanceMethod<&EngineWrap::forward>("forward"), InstanceMethod<&EngineWrap::generate>("generate"),
                      InstanceMethod<&EngineWrap::cancel>("cancel"), InstanceMethod<&EngineWrap::info>("info"),
                      InstanceMethod<&EngineWrap::load_codec>("loadCodec"),
                      InstanceMethod<&EngineWrap::decode_audio>("decodeAudio"),
                      InstanceMethod<&EngineWrap::encode_audio>("encodeAudio"),
                      InstanceMethod<&EngineWrap::codec_info>("codecInfo"),
                      InstanceMethod<&EngineWrap::gpu_memory>("gpuMemory"),
                      InstanceMethod<&EngineWrap::reset_peak_gpu_memory>("resetPeakGpuMemory"),
                      InstanceMethod<&EngineWrap::release_cached_memory>("releaseCachedMemory"),
                      InstanceMethod<&EngineWrap::dispose>("dispose")});
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  engine_ = std::make_unique<Engine>(parse_options(info[0]));
}

Engine& EngineWrap::engine(Napi::Env env) {
  if (!engine_) throw make_error(env, "E_NOT_LOADED", "this Engine was disposed");
  return *engine_;
}

Napi::Value EngineWrap::load(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsString()) throw input_error(env, "load: the model directory must be a string");
  if (!info[1].IsUndefined() && !info[1].IsFunction()) throw input_error(env, "load: onProgress must be a function");
  auto& eng = engine(env);
  std::shared_ptr<Napi::ThreadSafeFunction> progress_fn;
  Engine::ProgressFn progress;
  if (info[1].IsFunction()) {
    // Progress is best effort: NonBlockingCall never stalls the engine thread on a slow consumer.
    progress_fn = std::make_shared<Napi::ThreadSafeFunction>(
        Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "higgs.load.progress", 64, 1));
    progress = [progress_fn](const LoadProgress& p) {
      auto* copy = new LoadProgress(p);
      auto status = progress_fn->NonBlockingCall(copy, [](Napi::Env env, Napi::Function fn, LoadProgress* data) {
        auto o = Napi::Object::New(env);
        o.Set("phase", data->phase);
        o.Set("progress", data->progress);
        delete data;
        fn.Call({o});
      });
      if (status != napi_ok) delete copy;
    };
  }
  auto pending = settle_on_js_thread(env, "higgs.load");
  eng.load(info[0].As<Napi::String>().Utf8Value(), progress,
           [pending, progress_fn](std::exception_ptr error, const ModelInfo* model) {
             if (progress_fn) progress_fn->Release();
             if (error) return pending->reject(error);
             ModelInfo copy = *model;
             pending->resolve([copy](Napi::Env env) { return info_to_js(env, copy); });
           });
  return pending->promise();
}

Napi::Value EngineWrap::load_random(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsString()) throw input_error(env, "loadRandom: the shape name must be a string");
  const std::uint64_t seed = info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 0;
  auto pending = settle_on_js_thread(env, "higgs.loadRandom");
  engine(env).load_random(info[0].As<Napi::String>().Utf8Value(), seed,
                          [pending](std::exception_ptr error, const ModelInfo* model) {
                            if (error) return pending->reject(error);
                            ModelInfo copy = *model;
                            pending->resolve([copy](Napi::Env env) { return info_to_js(env, copy); });
                          });
  return pending->promise();
}

Napi::Value EngineWrap::forward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto request = parse_forward(info[0]);
  auto pending = settle_on_js_thread(env, "higgs.forward");
  engine(env).forward(std::move(request), [pending](std::exception_ptr error, ForwardResult* result) {
    if (error) return pending->reject(error);
    auto shared = std::make_shared<ForwardResult>(std::move(*result));
    pending->resolve([shared](Napi::Env env) { return result_to_js(env, *shared); });
  });
  return pending->promise();
}

Napi::Value EngineWrap::generate(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto request = parse_generate_request(info[0]);
  GenerateCallbacksJs callbacks;
  if (!info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw input_error(env, "generate: callbacks must be an object");
    auto o = info[1].As<Napi::Object>();
    auto frames = o.Get("onFrames"), progress = o.Get("onProgress");
    if (frames.IsFunction()) callbacks.on_frames = frames.As<Napi::Function>();
    else if (!frames.IsUndefined()) throw input_error(env, "generate: onFrames must be a function");
    if (progress.IsFunction()) callbacks.on_progress = progress.As<Napi::Function>();
    else if (!progress.IsUndefined()) throw input_error(env, "generate: onProgress must be a function");
  }
  auto& eng = engine(env);
  Ref();
  return start_generate(env, eng, std::move(request), callbacks, [this] { after_settle(); });
}

Napi::Value EngineWrap::cancel(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsNumber()) throw input_error(env, "cancel: the request id must be a number");
  if (engine_) engine_->cancel(static_cast<std::uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

namespace {
Napi::Object codec_info_to_js(Napi::Env env, const CodecInfo& c) {
  auto o = Napi::Object::New(env);
  o.Set("codecDir", c.codec_dir);
  o.Set("sampleRate", Napi::Number::New(env, static_cast<double>(c.sample_rate)));
  o.Set("samplesPerFrame", Napi::Number::New(env, static_cast<double>(c.samples_per_frame)));
  o.Set("numQuantizers", Napi::Number::New(env, static_cast<double>(c.num_quantizers)));
  o.Set("codebookSize", Napi::Number::New(env, static_cast<double>(c.codebook_size)));
  o.Set("contextFrames", Napi::Number::New(env, static_cast<double>(c.context_frames)));
  o.Set("canEncode", c.can_encode);
  o.Set("loadSeconds", c.load_seconds);
  return o;
}

}  // namespace

Napi::Value EngineWrap::load_codec(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsString()) throw input_error(env, "loadCodec: the codec directory must be a string");
  auto& eng = engine(env);
  auto pending = settle_on_js_thread(env, "higgs.loadCodec");
  eng.load_codec(info[0].As<Napi::String>().Utf8Value(), [pending](std::exception_ptr error, const CodecInfo* codec) {
    if (error) return pending->reject(error);
    CodecInfo copy = *codec;
    pending->resolve([copy](Napi::Env env) { return codec_info_to_js(env, copy); });
  });
  return pending->promise();
}

// decodeAudio(codes: Int32Array [K * frames] codebook-major, frames, window?: {begin, end})
Napi::Value EngineWrap::decode_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw input_error(env, "decodeAudio: codes must be an Int32Array");
  }
  if (!info[1].IsNumber()) throw input_error(env, "decodeAudio: frames must be a number");
  auto array = info[0].As<Napi::Int32Array>();
  std::vector<std::int32_t> codes(array.Data(), array.Data() + array.ElementLength());
  const auto frames = info[1].As<Napi::Number>().Int64Value();
  std::int64_t begin = 0, end = frames;
  if (info[2].IsObject()) {
    auto window = info[2].As<Napi::Object>();
    if (!window.Get("begin").IsNumber() || !window.Get("end").IsNumber()) {
      throw input_error(env, "decodeAudio: the window needs numeric begin and end");
    }
    begin = window.Get("begin").As<Napi::Number>().Int64Value();
    end = window.Get("end").As<Napi::Number>().Int64Value();
  }
  auto& eng = engine(env);
  auto pending = settle_on_js_thread(env, "higgs.decodeAudio");
  eng.decode_audio_window(std::move(codes), frames, begin, end, [pending](std::exception_ptr error, std::vector<float>* samples) {
    if (error) return pending->reject(error);
    auto shared = std::make_shared<std::vector<float>>(std::move(*samples));
    pending->resolve([shared](Napi::Env env) { return to_float32_array(env, *shared); });
  });
  return pending->promise();
}

// encodeAudio(samples: Float32Array at the codec rate) -> { codes: Int32Array, frames }
Napi::Value EngineWrap::encode_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw input_error(env, "encodeAudio: samples must be a Float32Array");
  }
  auto array = info[0].As<Napi::Float32Array>();
  std::vector<float> samples(array.Data(), array.Data() + array.ElementLength());
  auto& eng = engine(env);
  auto pending = settle_on_js_thread(env, "higgs.encodeAudio");
  eng.encode_audio(std::move(samples), [pending](std::exception_ptr error, std::vector<std::int32_t>* codes, std::int64_t frames) {
    if (error) return pending->reject(error);
    auto shared = std::make_shared<std::vector<std::int32_t>>(std::move(*codes));
    pending->resolve([shared, frames](Napi::Env env) {
      auto o = Napi::Object::New(env);
      o.Set("codes", to_int32_array(env, *shared));
      o.Set("frames", Napi::Number::New(env, static_cast<double>(frames)));
      return o;
    });
  });
  return pending->promise();
}

Napi::Value EngineWrap::codec_info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!engine_) return env.Null();
  try {
    return codec_info_to_js(env, engine_->codec_info());
  } catch (const HiggsError&) {
    return env.Null();
  }
}

Napi::Value EngineWrap::info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!engine_ || !engine_->loaded()) return env.Null();
  return info_to_js(env, engine_->info());
}

// Synchronous (no job): the allocator's and the driver's numbers; null on the CPU or once disposed.
Napi::Value EngineWrap::gpu_memory(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  GpuMemory m;
  if (!engine_ || !engine_->gpu_memory(&m)) return env.Null();
  auto o = Napi::Object::New(env);
  auto num = [&](const char* key, std::int64_t v) { o.Set(key, Napi::Number::New(env, static_cast<double>(v))); };
  num("allocated", m.allocated);
  num("reserved", m.reserved);
  num("peakAllocated", m.peak_allocated);
  num("free", m.free);
  num("total", m.total);
  return o;
}

Napi::Value EngineWrap::reset_peak_gpu_memory(const Napi::CallbackInfo& info) {
  if (engine_) engine_->reset_peak_gpu_memory();
  return info.Env().Undefined();
}

// Queued behind running work, so it never frees blocks a running job is about to reuse.
Napi::Value EngineWrap::release_cached_memory(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& eng = engine(env);
  auto pending = settle_on_js_thread(env, "higgs.releaseCachedMemory");
  eng.release_cached_memory([pending](std::exception_ptr error) {
    if (error) return pending->reject(error);
    pending->resolve([](Napi::Env env) { return env.Undefined(); });
  });
  return pending->promise();
}

Napi::Value EngineWrap::dispose(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (!engine_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  // Queued behind any running work: when it settles the engine thread is idle, so destroying
  // the engine (joining its thread) does not block the event loop.
  Ref();
  auto pending = std::make_shared<PendingPromise>(env, "higgs.dispose", [this] {
    disposing_.reset();
    Unref();
  });
  engine_->unload([pending](std::exception_ptr error) {
    if (error) return pending->reject(error);
    pending->resolve([](Napi::Env env) { return env.Undefined(); });
  });
  auto promise = pending->promise();
  disposing_ = std::move(engine_);
  return promise;
}

std::shared_ptr<PendingPromise> EngineWrap::settle_on_js_thread(Napi::Env env, const char* name) {
  // Keep this object alive while the engine thread holds work for it.
  Ref();
  return std::make_shared<PendingPromise>(env, name, [this] { after_settle(); });
}

void EngineWrap::after_settle() { Unref(); }

}  // namespace higgs::binding
