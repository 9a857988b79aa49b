// Time-stretching without a pitch change (Rubber Band Library, R3 "finer" engine): a request's
// `speed` plays the decoded speech faster or slower at the same pitch. Mono float32 throughout.
// The speed bound is the core's own (lib/audio/time-stretch.ts SPEED_RANGE is held to it).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace higgs::audio {

constexpr double kMinSpeed = 0.25;
constexpr double kMaxSpeed = 4.0;

// The whole buffer at once (offline: studied, then processed): about n / speed samples out.
// speed == 1 returns an exact copy. E_INPUT for a speed outside [kMinSpeed, kMaxSpeed] or a
// sample rate under 8000 (the R3 engine's minimum).
std::vector<float> time_stretch(const float* samples, std::size_t n, int sample_rate, double speed);

// A stream stretched piece by piece (real-time mode): push() returns what is ready so far,
// finish() the rest. The stretcher's start latency is hidden (silence fed in first, its delayed
// output dropped) so that the output starts with the input, and finish() makes the total exactly
// round(input / speed) samples. speed == 1 passes samples through untouched. Not thread-safe:
// one call at a time. push() or finish() after finish() is E_INPUT.
class TimeStretcher {
 public:
  TimeStretcher(int sample_rate, double speed);
  ~TimeStretcher();
  TimeStretcher(const TimeStretcher&) = delete;
  TimeStretcher& operator=(const TimeStretcher&) = delete;

  std::vector<float> push(const float* samples, std::size_t n);
  std::vector<float> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace higgs::audio
