// quantizeCheckpoint({modelDir, outDir, sourceFingerprint, createdBy}, onProgress?): the core's
// quantize_checkpoint (engine.h) on the libuv pool; onProgress(done, total) on the JS thread.
#pragma once

#include <napi.h>

namespace higgs::binding {

void register_quantize_function(Napi::Env env, Napi::Object exports);

}  // namespace higgs::binding
