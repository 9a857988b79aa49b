#include "js_bridge.h"

#include <algorithm>

#include "errors.h"

namespace higgs::binding {

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message) {
  auto error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Error make_error(Napi::Env env, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const HiggsError& e) {
    return make_error(env, error_code_name(e.code()), e.what());
  } catch (const std::exception& e) {
    return make_error(env, "E_INTERNAL", e.what());
  } catch (...) {
    return make_error(env, "E_INTERNAL", "unknown native error");
  }
}

Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& values) {
  auto array = Napi::Float32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

Napi::Int32Array to_int32_array(Napi::Env env, const std::vector<std::int32_t>& values) {
  auto array = Napi::Int32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

PendingPromise::PendingPromise(Napi::Env env, const char* name, std::function<void()> settled)
    : deferred_(std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env))),
      tsfn_(Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), name,
                                          /*max_queue_size=*/0, /*initial_thread_count=*/1)),
      settled_(std::move(settled)) {}

void PendingPromise::resolve(Build build) {
  auto deferred = deferred_;
  auto settled = settled_;
  tsfn_.BlockingCall([deferred, build, settled](Napi::Env env, Napi::Function) {
    try {
      deferred->Resolve(build(env));
    } catch (const Napi::Error& e) {
      deferred->Reject(e.Value());
    }
    if (settled) settled();
  });
  tsfn_.Release();
}

void PendingPromise::reject(std::exception_ptr error) {
  auto deferred = deferred_;
  auto settled = settled_;
  tsfn_.BlockingCall([deferred, error, settled](Napi::Env env, Napi::Function) {
    deferred->Reject(make_error(env, error).Value());
    if (settled) settled();
  });
  tsfn_.Release();
}

}  // namespace higgs::binding
