// Module-level audio functions (readAudio, writeAudio, resampleAudio, stretchAudio,
// audioFormats). They use libsndfile, libsoxr and librubberband only, no libtorch, so they run on
// the libuv pool (pool_task.h) rather than on an Engine's thread. Without the audio module
// (HIGGS_HAVE_AUDIO unset) they exist and throw a clear error.
#pragma once

#include <napi.h>

namespace higgs::binding {

void register_audio_functions(Napi::Env env, Napi::Object exports);

// What every audio entry point throws in a build without the audio module (E_INTERNAL).
Napi::Error no_audio_module_error(Napi::Env env);

}  // namespace higgs::binding
