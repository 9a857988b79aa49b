#include "pool_task.h"

#include <exception>
#include <utility>

#include "js_bridge.h"

namespace higgs::binding {
namespace {

class PoolTask : public Napi::AsyncWorker {
 public:
  PoolTask(Napi::Env env, PoolWork work, PoolFinish finish)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        finish_(std::move(finish)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      work_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void OnOK() override {
    if (error_) {
      deferred_.Reject(make_error(Env(), error_).Value());
      return;
    }
    try {
      deferred_.Resolve(finish_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  PoolWork work_;
  PoolFinish finish_;
  std::exception_ptr error_;
};

}  // namespace

Napi::Value run_on_pool(Napi::Env env, PoolWork work, PoolFinish finish) {
  auto* task = new PoolTask(env, std::move(work), std::move(finish));  // deletes itself when done
  auto promise = task->promise();
  task->Queue();
  return promise;
}

}  // namespace higgs::binding
