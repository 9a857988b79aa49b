// Plumbing between the engine thread and JS: settle a Promise from another thread, and turn
// native errors into JS Errors that carry a stable `code`.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

namespace higgs::binding {

// An Error whose `code` property is one of E_INPUT, E_MODEL_FORMAT, ... (DESIGN.md).
Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error make_error(Napi::Env env, std::exception_ptr error);
inline Napi::Error input_error(Napi::Env env, const std::string& message) { return make_error(env, "E_INPUT", message); }

// Copies of native vectors as JS typed arrays.
Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& values);
Napi::Int32Array to_int32_array(Napi::Env env, const std::vector<std::int32_t>& values);

// A pending Promise that the engine thread settles. Create on the JS thread; call resolve() or
// reject() exactly once from any thread; the value is built on the JS thread.
class PendingPromise {
 public:
  using Build = std::function<Napi::Value(Napi::Env)>;

  // `settled` runs on the JS thread right after the promise is settled.
  PendingPromise(Napi::Env env, const char* name, std::function<void()> settled = {});
  Napi::Promise promise() const { return deferred_->Promise(); }
  void resolve(Build build);
  void reject(std::exception_ptr error);

 private:
  std::shared_ptr<Napi::Promise::Deferred> deferred_;
  Napi::ThreadSafeFunction tsfn_;
  std::function<void()> settled_;
};

}  // namespace higgs::binding
