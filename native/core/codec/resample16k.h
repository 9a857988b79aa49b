// Band-limited resampling exactly as torchaudio.functional.resample with its defaults
// (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99). The codec's semantic branch feeds
// HuBERT with torchaudio's 24 kHz -> 16 kHz output, so parity needs the same kernel values and the
// same padding/stride/truncation, not just "a good resampler" (libsoxr would differ by ~1e-3).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace higgs::codec {

// wave [..., N] floating point, any device -> [..., ceil(N * new / orig)] in the same dtype and
// device. The kernel is built in the input's dtype on the input's device, as torchaudio does.
// Rates must be positive; equal rates return the input unchanged.
at::Tensor sinc_resample(const at::Tensor& wave, std::int64_t orig_freq, std::int64_t new_freq,
                         std::int64_t lowpass_filter_width = 6, double rolloff = 0.99);

// The one call the codec needs: 24 kHz -> 16 kHz.
inline at::Tensor resample_24k_to_16k(const at::Tensor& wave) { return sinc_resample(wave, 24000, 16000); }

// Output length of sinc_resample for N input samples: ceil(N * new / orig).
std::int64_t sinc_resample_length(std::int64_t samples, std::int64_t orig_freq, std::int64_t new_freq);

}  // namespace higgs::codec
