#include "quantize_function.h"

#include <memory>
#include <string>

#include "engine/engine.h"
#include "js_bridge.h"
#include "pool_task.h"

namespace higgs::binding {
namespace {

std::string string_field(const Napi::Object& o, const char* key, bool required) {
  auto v = o.Get(key);
  if (v.IsUndefined() && !required) return "";
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty()) {
    throw input_error(o.Env(), std::string("quantizeCheckpoint: ") + key + " must be a non-empty string");
  }
  return v.As<Napi::String>().Utf8Value();
}

struct Progress {
  std::int64_t done, total;
};

Napi::Value quantize_checkpoint_js(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw input_error(env, "quantizeCheckpoint(request, onProgress?): request must be an object");
  auto o = info[0].As<Napi::Object>();
  QuantizeRequest request;
  request.model_dir = string_field(o, "modelDir", true);
  request.out_dir = string_field(o, "outDir", true);
  request.source_fingerprint = string_field(o, "sourceFingerprint", true);
  request.created_by = string_field(o, "createdBy", false);
  std::shared_ptr<Napi::ThreadSafeFunction> tsfn;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsFunction()) throw input_error(env, "quantizeCheckpoint: onProgress must be a function");
    tsfn = std::make_shared<Napi::ThreadSafeFunction>(
        Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "higgs.quantize.progress", 64, 1));
  }
  auto result = std::make_shared<QuantizeSummary>();
  return run_on_pool(
      env,
      [request, tsfn, result] {
        auto progress = [tsfn](std::int64_t done, std::int64_t total) {
          if (!tsfn) return;
          auto* data = new Progress{done, total};
          // A full queue drops this report (the next one says more); never blocks the work.
          auto status = tsfn->NonBlockingCall(data, [](Napi::Env env, Napi::Function fn, Progress* p) {
            const Progress copy = *p;
            delete p;
            fn.Call({Napi::Number::New(env, static_cast<double>(copy.done)), Napi::Number::New(env, static_cast<double>(copy.total))});
          });
          if (status != napi_ok) delete data;
        };
        try {
          *result = quantize_checkpoint(request, progress);
        } catch (...) {
          if (tsfn) tsfn->Release();
          throw;
        }
        if (tsfn) tsfn->Release();
      },
      [result](Napi::Env env) -> Napi::Value {
        auto out = Napi::Object::New(env);
        out.Set("weightsPath", result->weights_path);
        out.Set("manifestPath", result->manifest_path);
        out.Set("tensors", static_cast<double>(result->tensors));
        out.Set("bytes", static_cast<double>(result->bytes));
        return out;
      });
}

}  // namespace

void register_quantize_function(Napi::Env env, Napi::Object exports) {
  exports.Set("quantizeCheckpoint", Napi::Function::New(env, quantize_checkpoint_js, "quantizeCheckpoint"));
}

}  // namespace higgs::binding
