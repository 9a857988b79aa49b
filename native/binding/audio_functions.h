// Module-level audio functions (readAudio, writeAudio, resampleAudio, audioFormats). They use
// libsndfile and libsoxr only, no libtorch, so they run on the libuv pool (Napi::AsyncWorker)
// rather than on an Engine's thread. Without the audio module (HIGGS_HAVE_AUDIO unset) they
// exist and reject with a clear error.
#pragma once

#include <napi.h>

namespace higgs::binding {

void register_audio_functions(Napi::Env env, Napi::Object exports);

}  // namespace higgs::binding
