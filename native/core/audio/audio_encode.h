// The libsndfile encoding step of write_audio, without its checks: mono samples already clipped,
// at a rate the codec carries. Internal to native/core/audio (also used to probe support).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "audio/audio_format.h"

namespace higgs::audio {

// Floats -> 16-bit samples scaled by 32768, saturating at 32767 (the inverse of how libsndfile reads
// PCM16 back), rounded half to even.
void to_pcm16(const float* in, std::size_t n, short* out);

// Whether `format` is written from 16-bit samples (wav, flac and G.711: libsndfile companders
// G.711 from the same integers a PCM16 file holds, so every format scales the floats alike).
bool is_pcm16(AudioFormat format);

// Clips to [-1, 1] in place (NaN becomes 0): before any conversion, since integer codecs would
// wrap and lossy encoders distort past full scale.
void clip_samples(float* samples, std::size_t n);

// Throws HiggsError (E_INTERNAL; E_OOM if the output buffer cannot grow) when libsndfile fails.
std::vector<std::uint8_t> encode_mono(const float* samples, std::size_t n, int sample_rate, AudioFormat format);

}  // namespace higgs::audio
