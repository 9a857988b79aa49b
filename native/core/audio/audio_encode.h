// The libsndfile encoding step of write_audio, without its checks: mono samples already clipped,
// at a rate the codec carries. Internal to native/core/audio (also used to probe support).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "audio/audio_format.h"

namespace higgs::audio {

// Throws HiggsError (E_INTERNAL; E_OOM if the output buffer cannot grow) when libsndfile fails.
std::vector<std::uint8_t> encode_mono(const float* samples, std::size_t n, int sample_rate, AudioFormat format);

}  // namespace higgs::audio
