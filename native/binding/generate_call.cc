#include "generate_call.h"

#include "convert.h"
#include "js_bridge.h"

namespace higgs::binding {
namespace {


// Everything one call needs on the JS side; shared by the events queued for it.
struct CallState {
  Napi::Promise::Deferred deferred;
  Napi::FunctionReference on_frames, on_progress;
  std::function<void()> settled;
  explicit CallState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

}  // namespace

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
                      else state->deferred.Resolve(write_generate_result(env, *shared));
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
