// Tests of native/core/audio/time_stretch: a 440 Hz tone stretched to half and double speed,
// whole (offline) and streamed in codec-sized pieces, keeps its pitch and gets the length
// 1 / speed asks for; speed 1 is an exact copy; bad speeds and rates are E_INPUT.
#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "audio/time_stretch.h"
#include "check.h"
#include "errors.h"

namespace {

using namespace higgs;
using namespace higgs::audio;

constexpr double kPi = 3.14159265358979323846;
constexpr int kRate = 24000;
constexpr std::size_t kPiece = 1920;  // 80 ms: what a streamed codec window is about

std::vector<float> sine(double freq, std::size_t n) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(0.5 * std::sin(2 * kPi * freq * i / kRate));
  return out;
}

// The strongest frequency between 300 and 600 Hz (1 Hz steps, a plain DFT of the middle 80%, so
// the stretcher's ramp-in and tail do not count). A tone left at the wrong pitch (220 or 880 Hz
// for these speeds) would peak at an end of the scan.
double dominant_frequency(const std::vector<float>& x) {
  const std::size_t from = x.size() / 10, to = x.size() - x.size() / 10;
  double best = 0, best_power = -1;
  for (double f = 300; f <= 600; f += 1) {
    std::complex<double> sum = 0;
    const std::complex<double> step = std::polar(1.0, -2 * kPi * f / kRate);
    std::complex<double> w = std::polar(1.0, -2 * kPi * f * from / kRate);
    for (std::size_t i = from; i < to; ++i, w *= step) sum += static_cast<double>(x[i]) * w;
    if (std::norm(sum) > best_power) best_power = std::norm(sum), best = f;
  }
  return best;
}

void check_stretched(const std::vector<float>& out, std::size_t n, double speed, const char* how) {
  const double expected = n / speed;
  HIGGS_CHECK_MSG(std::fabs(out.size() - expected) <= 0.05 * expected,
                  how << " speed " << speed << ": " << out.size() << " samples, expected ~" << expected);
  const double f = dominant_frequency(out);
  HIGGS_CHECK_MSG(std::fabs(f - 440) <= 0.02 * 440, how << " speed " << speed << ": dominant frequency " << f << " Hz");
}

std::vector<float> stream(TimeStretcher& s, const std::vector<float>& in) {
  std::vector<float> out;
  for (std::size_t at = 0; at < in.size(); at += kPiece) {
    auto piece = s.push(in.data() + at, std::min(kPiece, in.size() - at));
    out.insert(out.end(), piece.begin(), piece.end());
  }
  auto tail = s.finish();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

HIGGS_TEST(whole_buffer_keeps_pitch_and_scales_length) {
  const auto tone = sine(440, 2 * kRate);
  for (double speed : {0.5, 2.0}) check_stretched(time_stretch(tone.data(), tone.size(), kRate, speed), tone.size(), speed, "offline");
  // The bounds themselves are allowed.
  for (double speed : {kMinSpeed, kMaxSpeed}) check_stretched(time_stretch(tone.data(), tone.size(), kRate, speed), tone.size(), speed, "offline");
}

HIGGS_TEST(stream_in_pieces_keeps_pitch_and_scales_length) {
  const auto tone = sine(440, 2 * kRate);
  for (double speed : {0.5, 2.0}) {
    TimeStretcher s(kRate, speed);
    check_stretched(stream(s, tone), tone.size(), speed, "stream");
  }
}

HIGGS_TEST(stream_output_starts_with_its_input) {
  // 0.5 s of silence, then the tone: the start delay is hidden, so the tone starts near 1 s at
  // half speed (within the analysis window's smear, ~20 ms), offline and streamed alike.
  auto input = sine(440, 2 * kRate);
  std::fill(input.begin(), input.begin() + kRate / 2, 0.0f);
  auto onset = [](const std::vector<float>& x) {
    return static_cast<double>(std::find_if(x.begin(), x.end(), [](float v) { return std::fabs(v) > 0.1f; }) - x.begin());
  };
  TimeStretcher s(kRate, 0.5);
  const double streamed = onset(stream(s, input));
  const double whole = onset(time_stretch(input.data(), input.size(), kRate, 0.5));
  HIGGS_CHECK_MSG(std::fabs(streamed - kRate) < 0.03 * kRate, "streamed onset at sample " << streamed);
  HIGGS_CHECK_MSG(std::fabs(whole - kRate) < 0.03 * kRate, "offline onset at sample " << whole);
}

HIGGS_TEST(speed_one_is_an_exact_copy) {
  const auto tone = sine(440, kRate);
  HIGGS_CHECK(time_stretch(tone.data(), tone.size(), kRate, 1.0) == tone);
  TimeStretcher s(kRate, 1.0);
  HIGGS_CHECK(s.push(tone.data(), 1000) == std::vector<float>(tone.begin(), tone.begin() + 1000));
  HIGGS_CHECK(s.push(tone.data() + 1000, tone.size() - 1000) == std::vector<float>(tone.begin() + 1000, tone.end()));
  HIGGS_CHECK(s.finish().empty());
}

HIGGS_TEST(empty_input_gives_empty_output) {
  HIGGS_CHECK(time_stretch(nullptr, 0, kRate, 2.0).empty());
  TimeStretcher s(kRate, 2.0);
  HIGGS_CHECK(s.push(nullptr, 0).empty());
  HIGGS_CHECK(s.finish().empty());
}

HIGGS_TEST(bad_speed_rate_or_order_is_an_input_error) {
  const auto tone = sine(440, 1000);
  for (double speed : {0.0, 0.2, 4.5, -1.0, std::nan("")}) {
    HIGGS_CHECK_THROWS(time_stretch(tone.data(), tone.size(), kRate, speed), ErrorCode::Input, "speed must be in [0.25, 4]");
    HIGGS_CHECK_THROWS(TimeStretcher(kRate, speed), ErrorCode::Input, "speed");
  }
  HIGGS_CHECK_THROWS(time_stretch(tone.data(), tone.size(), 100, 2.0), ErrorCode::Input, "sample rate");
  TimeStretcher s(kRate, 2.0);
  s.push(tone.data(), tone.size());
  s.finish();
  HIGGS_CHECK_THROWS(s.push(tone.data(), tone.size()), ErrorCode::Input, "after finish()");
  HIGGS_CHECK_THROWS(s.finish(), ErrorCode::Input, "after finish()");
}

}  // namespace
