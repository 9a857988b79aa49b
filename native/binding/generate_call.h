// One Engine.generate() call seen from JS: frames, progress and the final result travel through
// ONE thread-safe function, so JS receives them in the order the engine produced them (the
// last frames always arrive before the Promise settles). Frames are never dropped; progress is
// thinned to one event per `stream_every` columns.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "engine/engine.h"

namespace higgs::binding {

struct GenerateCallbacksJs {
  Napi::Function on_frames;    // (frames: Int32Array [count * K], first: number, count: number)
  Napi::Function on_progress;  // (columns: number, maxColumns: number)
};

// Starts the generation on `engine` and returns its Promise<GenerateResult>. `settled` runs on
// the JS thread after the Promise settles.
Napi::Promise start_generate(Napi::Env env, Engine& engine, GenerateRequest request,
                             const GenerateCallbacksJs& callbacks, std::function<void()> settled);

}  // namespace higgs::binding
