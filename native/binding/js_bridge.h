// Plumbing between the engine threads and JS: settle a Promise from another thread (and the one
// engine callback that does it, settle_with), and turn native errors into JS Errors that carry a
// stable `code`.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace higgs::binding {

// An Error whose `code` property is one of E_INPUT, E_MODEL_FORMAT, ... (docs/architecture.md).
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

// The completion callback of an engine call that settles `pending`: (error, result*, extra...)
// as the Engine's callbacks are. An error rejects; otherwise the result is kept (moved, or copied
// from a const one) until the JS thread resolves with write(env, result, extra...); `extra` are
// values after the result (encode_audio's frame count).
template <typename Write>
auto settle_with(std::shared_ptr<PendingPromise> pending, Write write) {
  return [pending = std::move(pending), write = std::move(write)](std::exception_ptr error, auto* result,
                                                                  auto... extra) {
    if (error) return pending->reject(error);
    using T = std::remove_const_t<std::remove_pointer_t<decltype(result)>>;
    auto shared = std::make_shared<T>(std::move(*result));
    pending->resolve([shared, write, extra...](Napi::Env env) -> Napi::Value { return write(env, *shared, extra...); });
  };
}

// The same for a call without a result (Engine::Done): resolves with undefined.
inline auto settle_with(std::shared_ptr<PendingPromise> pending) {
  return [pending = std::move(pending)](std::exception_ptr error) {
    if (error) return pending->reject(error);
    pending->resolve([](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  };
}

}  // namespace higgs::binding
