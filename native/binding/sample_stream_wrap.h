// JS classes for audio streams processed piece by piece: `AudioStretcher` (audio::TimeStretcher,
// Rubber Band in real-time mode), `AudioResampler` (audio::StreamResampler, soxr) and
// `AudioStreamEncoder` (audio::StreamEncoder, libsndfile; gives bytes, not samples). All have
// push(samples) and finish(), run on the libuv pool and return Promises; a call while another is
// still in flight is rejected with E_INPUT rather than queued, since the stream keeps state
// between calls and the caller owns their order. Without the audio module the constructors throw
// (no_audio_module_error).
#pragma once

#include <napi.h>

namespace higgs::binding {

Napi::Function define_audio_stretcher(Napi::Env env);
Napi::Function define_audio_resampler(Napi::Env env);
Napi::Function define_audio_stream_encoder(Napi::Env env);

}  // namespace higgs::binding
