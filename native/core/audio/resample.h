// Sample-rate conversion with libsoxr at high quality (SOXR_HQ), the resampler librosa uses by
// default (res_type "soxr_hq", via python-soxr) when the codec's front end loads a reference
// voice (docs/model.md#reference-audio).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace higgs::audio {

// Output length, exactly as librosa.resample computes it: ceil(n * (to / from)) in double
// precision, the ratio taken first. This is NOT always round(n * to / from): 44100 samples at
// 44.1 kHz give 24001 at 24 kHz, because 44100 * (24000 / 44100) = 24000.000000000004. librosa
// pads soxr's output with zeros (or cuts it) to this length, and so does resample().
std::size_t resampled_length(std::size_t n, double from_rate, double to_rate);

// Mono resampling; a copy of the input when the rates are equal. Rates must be finite and > 0
// (E_INPUT otherwise).
std::vector<float> resample(const float* samples, std::size_t n, double from_rate, double to_rate);

// A stream resampled piece by piece (the same soxr HQ filter as resample()): push() returns what
// soxr has ready, finish() flushes the filter and fixes the total at
// resampled_length(input, from, to), as resample() does for a whole buffer. Equal rates pass the
// samples through. Not thread-safe: one call at a time; push() or finish() after finish() is E_INPUT.
class StreamResampler {
 public:
  StreamResampler(double from_rate, double to_rate);
  ~StreamResampler();
  StreamResampler(const StreamResampler&) = delete;
  StreamResampler& operator=(const StreamResampler&) = delete;

  std::vector<float> push(const float* samples, std::size_t n);
  std::vector<float> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace higgs::audio
