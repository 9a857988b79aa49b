// EngineWrap: each method checks and converts its arguments, queues the engine call and returns
// a Promise that settle_with (js_bridge.h) settles from the engine's thread.
#include "engine_wrap.h"

#include "convert.h"
#include "errors.h"
#include "generate_call.h"
#include "js_bridge.h"

namespace higgs::binding {

Napi::Function EngineWrap::define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {InstanceMethod<&EngineWrap::load>("load"),
                      InstanceMethod<&EngineWrap::forward>("forward"), InstanceMethod<&EngineWrap::generate>("generate"),
                      InstanceMethod<&EngineWrap::cancel>("cancel"), InstanceMethod<&EngineWrap::info>("info"),
                      InstanceMethod<&EngineWrap::load_codec>("loadCodec"),
                      InstanceMethod<&EngineWrap::decode_audio>("decodeAudio"),
                      InstanceMethod<&EngineWrap::encode_audio>("encodeAudio"),
                      InstanceMethod<&EngineWrap::codec_info>("codecInfo"),
                      InstanceMethod<&EngineWrap::gpu_memory>("gpuMemory"),
                      InstanceMethod<&EngineWrap::batch_status>("batchStatus"),
                      InstanceMethod<&EngineWrap::reset_peak_gpu_memory>("resetPeakGpuMemory"),
                      InstanceMethod<&EngineWrap::release_cached_memory>("releaseCachedMemory"),
                      InstanceMethod<&EngineWrap::dispose>("dispose")});
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  auto options = read_engine_options(info[0]);
  if (!info[1].IsUndefined() && !info[1].IsFunction()) throw input_error(info.Env(), "Engine: onLog must be a function");
  LogSink sink;
  if (info[1].IsFunction()) {
    log_ = EngineLogRelay::create(info.Env(), info[1].As<Napi::Function>());
    sink = log_->sink();
  }
  engine_ = std::make_unique<Engine>(std::move(options), std::move(sink));
}

// Collected without dispose(): the engine's threads are joined first, so none still logs.
EngineWrap::~EngineWrap() {
  engine_.reset();
  disposing_.reset();
  if (log_) log_->release();
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
        auto o = write_load_progress(env, *data);
        delete data;
        fn.Call({o});
      });
      if (status != napi_ok) delete copy;
    };
  }
  auto pending = settle_on_js_thread(env, "higgs.load");
  auto settle = settle_with(pending, write_model_info);
  eng.load(info[0].As<Napi::String>().Utf8Value(), progress, [progress_fn, settle](std::exception_ptr error, const ModelInfo* model) {
    if (progress_fn) progress_fn->Release();
    settle(error, model);
  });
  return pending->promise();
}

Napi::Value EngineWrap::forward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto request = read_forward_request(info[0]);
  auto pending = settle_on_js_thread(env, "higgs.forward");
  engine(env).forward(std::move(request), settle_with(pending, write_forward_result));
  return pending->promise();
}

Napi::Value EngineWrap::generate(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto request = read_generate_request(info[0]);
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

Napi::Value EngineWrap::load_codec(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsString()) throw input_error(env, "loadCodec: the codec directory must be a string");
  auto& eng = engine(env);
  auto pending = settle_on_js_thread(env, "higgs.loadCodec");
  eng.load_codec(info[0].As<Napi::String>().Utf8Value(), settle_with(pending, write_codec_info));
  return pending->promise();
}

// decodeAudio(codes: Int32Array [K * frames] codebook-major, frames, window?: {begin, end})
Napi::Value EngineWrap::decode_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto codes = typed_array<std::int32_t>(info[0], "decodeAudio: codes");
  if (!info[1].IsNumber()) throw input_error(env, "decodeAudio: frames must be a number");
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
  eng.decode_audio_window(std::move(codes), frames, begin, end, settle_with(pending, to_float32_array));
  return pending->promise();
}

// encodeAudio(samples: Float32Array at the codec rate) -> { codes: Int32Array, frames }
Napi::Value EngineWrap::encode_audio(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto samples = typed_array<float>(info[0], "encodeAudio: samples");
  auto& eng = engine(env);
  auto pending = settle_on_js_thread(env, "higgs.encodeAudio");
  eng.encode_audio(std::move(samples), settle_with(pending, [](Napi::Env env, const std::vector<std::int32_t>& codes,
                                                                 std::int64_t frames) {
    auto o = Napi::Object::New(env);
    o.Set("codes", to_int32_array(env, codes));
    o.Set("frames", Napi::Number::New(env, static_cast<double>(frames)));
    return o;
  }));
  return pending->promise();
}

Napi::Value EngineWrap::codec_info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!engine_) return env.Null();
  try {
    return write_codec_info(env, engine_->codec_info());
  } catch (const HiggsError&) {
    return env.Null();
  }
}

Napi::Value EngineWrap::info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!engine_ || !engine_->loaded()) return env.Null();
  return write_model_info(env, engine_->info());
}

// Synchronous (no job): the allocator's and the driver's numbers; null on the CPU or once disposed.
Napi::Value EngineWrap::gpu_memory(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  GpuMemory m;
  if (!engine_ || !engine_->gpu_memory(&m)) return env.Null();
  return write_gpu_memory(env, m);
}

Napi::Value EngineWrap::batch_status(const Napi::CallbackInfo& info) {
  return write_batch_status(info.Env(), engine_ ? engine_->batch_status() : BatchStatus{});
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
  eng.release_cached_memory(settle_with(pending));
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
    if (log_) log_->release();  // the engine's threads are joined: nothing logs any more
    Unref();
  });
  engine_->unload(settle_with(pending));
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
