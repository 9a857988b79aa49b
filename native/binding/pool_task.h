// Work that needs neither an Engine nor libtorch (the audio functions, AudioStretcher and
// AudioResampler) runs on the libuv pool: run_on_pool returns a Promise that `finish` settles on the JS thread.
#pragma once

#include <napi.h>

#include <functional>

namespace higgs::binding {

using PoolWork = std::function<void()>;                    // on a pool thread; may throw
using PoolFinish = std::function<Napi::Value(Napi::Env)>;  // on the JS thread, after `work`

// A HiggsError thrown by `work` rejects with its code (make_error); `finish` builds the value.
Napi::Value run_on_pool(Napi::Env env, PoolWork work, PoolFinish finish);

}  // namespace higgs::binding
