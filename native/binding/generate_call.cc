#include "generate_call.h"

#include "js_bridge.h"

#include <sstream>

namespace higgs::binding {
namespace {


// Everything one call needs on the JS side; shared by the events queued for it.
struct CallState {
  Napi::Promise::Deferred deferred;
  Napi::FunctionReference on_frames, on_progress;
  std::function<void()> settled;
  explicit CallState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

Napi::Value result_to_js(Napi::Env env, const GenerateResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("codes", to_int32_array(env, r.codes));
  o.Set("frames", Napi::Number::New(env, static_cast<double>(r.frames)));
  o.Set("numCodebooks", Napi::Number::New(env, static_cast<double>(r.num_codebooks)));
  o.Set("columns", Napi::Number::New(env, static_cast<double>(r.columns)));
  o.Set("promptPositions", Napi::Number::New(env, static_cast<double>(r.prompt_positions)));
  o.Set("stopReason", r.stop_reason);
  o.Set("prefillSeconds", r.prefill_seconds);
  o.Set("decodeSeconds", r.decode_seconds);
  return o;
}

template <typename T>
T number_field(const Napi::Object& o, const char* key, T fallback, double min, double max) {
  auto v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw input_error(o.Env(), std::string("generate: ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max)) {
    // Shortest form (1e-09, not std::to_string's 0.000000, which made a small bound read as 0).
    std::ostringstream bounds;
    bounds << '[' << min << ", " << max << "] (got " << d << ')';
    throw input_error(o.Env(), std::string("generate: ") + key + " must be in " + bounds.str());
  }
  return static_cast<T>(d);
}

std::vector<std::int32_t> int32_array(const Napi::Object& o, const char* key, bool optional) {
  auto v = o.Get(key);
  if (v.IsUndefined() && optional) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw input_error(o.Env(), std::string("generate: ") + key + " must be an Int32Array");
  }
  auto a = v.As<Napi::Int32Array>();
  return {a.Data(), a.Data() + a.ElementLength()};
}

}  // namespace

GenerateRequest parse_generate_request(const Napi::Value& value) {
  auto env = value.Env();
  if (!value.IsObject()) throw input_error(env, "generate: the request must be an object");
  auto o = value.As<Napi::Object>();
  GenerateRequest r;
  r.input_ids = int32_array(o, "inputIds", false);
  auto mask = o.Get("audioMask");
  if (!mask.IsTypedArray() || mask.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw input_error(env, "generate: audioMask must be a Uint8Array");
  }
  auto m = mask.As<Napi::Uint8Array>();
  r.audio_mask.assign(m.Data(), m.Data() + m.ElementLength());
  r.audio_codes = int32_array(o, "audioCodes", true);
  constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER
  r.temperature = number_field<double>(o, "temperature", r.temperature, 0, 100);
  r.top_k = number_field<std::int64_t>(o, "topK", r.top_k, 0, 1e9);
  r.top_p = number_field<double>(o, "topP", r.top_p, 1e-9, 1);
  r.ras_window = number_field<std::int64_t>(o, "rasWindow", r.ras_window, 0, 1e6);
  r.ras_max_repeats = number_field<std::int64_t>(o, "rasMaxRepeats", r.ras_max_repeats, 1, 1e6);
  r.seed = number_field<std::uint64_t>(o, "seed", r.seed, 0, kMaxSafe);
  r.max_frames = number_field<std::int64_t>(o, "maxFrames", r.max_frames, 1, 1e7);
  r.stream_every = number_field<std::int64_t>(o, "streamEvery", r.stream_every, 1, 1e6);
  r.request_id = number_field<std::uint64_t>(o, "requestId", 0, 0, kMaxSafe);
  return r;
}

Napi::Promise start_generate(Napi::Env env, Engine& engine, GenerateRequest request,
                             const GenerateCallbacksJs& callbacks, std::function<void()> settled) {
  auto state = std::make_shared<CallState>(env);
  if (!callbacks.on_frames.IsEmpty()) state->on_frames = Napi::Persistent(callbacks.on_frames);
  if (!callbacks.on_progress.IsEmpty()) state->on_progress = Napi::Persistent(callbacks.on_progress);
  state->settled = std::move(settled);
  auto promise = state->deferred.Promise();
  auto tsfn = std::make_shared<Napi::ThreadSafeFunction>(Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "higgs.generate", 0, 1));

  // Exceptions thrown by user callbacks must not take the process down: they end up as the
  // call's rejection instead, and later events are ignored.
  auto failed = std::make_shared<Napi::Reference<Napi::Value>>();  // the first callback error
  auto call_js = [state, failed](Napi::Env env, const Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
    if (fn.IsEmpty() || !failed->IsEmpty()) return;
    try {
      fn.Call(args);
    } catch (const Napi::Error& e) {
      *failed = Napi::Reference<Napi::Value>::New(e.Value(), 1);
    }
  };

  Engine::FramesFn on_frames;
  if (!callbacks.on_frames.IsEmpty()) {
    on_frames = [tsfn, state, call_js](std::vector<std::int32_t> frames, std::int64_t first, std::int64_t count) {
      auto data = std::make_shared<std::vector<std::int32_t>>(std::move(frames));
      tsfn->BlockingCall([state, call_js, data, first, count](Napi::Env env, Napi::Function) {
        call_js(env, state->on_frames,
                {to_int32_array(env, *data), Napi::Number::New(env, static_cast<double>(first)), Napi::Number::New(env, static_cast<double>(count))});
      });
    };
  }
  Engine::StepProgressFn on_progress;
  if (!callbacks.on_progress.IsEmpty()) {
    const auto every = request.stream_every;
    on_progress = [tsfn, state, call_js, every](std::int64_t columns, std::int64_t max_columns) {
      if (columns % every != 0 && columns != max_columns) return;
      tsfn->BlockingCall([state, call_js, columns, max_columns](Napi::Env env, Napi::Function) {
        call_js(env, state->on_progress,
                {Napi::Number::New(env, static_cast<double>(columns)), Napi::Number::New(env, static_cast<double>(max_columns))});
      });
    };
  }
  engine.generate(std::move(request), on_frames, on_progress,
                  [tsfn, state, failed](std::exception_ptr error, GenerateResult* result) {
                    auto shared = result ? std::make_shared<GenerateResult>(std::move(*result)) : nullptr;
                    tsfn->BlockingCall([state, failed, error, shared](Napi::Env env, Napi::Function) {
                      if (error) state->deferred.Reject(make_error(env, error).Value());
                      else if (!failed->IsEmpty()) state->deferred.Reject(failed->Value());
                      else state->deferred.Resolve(result_to_js(env, *shared));
                      // References must be released on this (the JS) thread; the engine thread may
                      // drop the last owner of `state` later.
                      state->on_frames.Reset();
                      state->on_progress.Reset();
                      failed->Reset();
                      if (state->settled) state->settled();
                    });
                    tsfn->Release();
                  });
  return promise;
}

}  // namespace higgs::binding
