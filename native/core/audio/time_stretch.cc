#include "audio/time_stretch.h"

#include <rubberband/RubberBandStretcher.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "errors.h"

namespace higgs::audio {
namespace {

using RubberBand::RubberBandStretcher;

// Most samples handed to one process() call (declared up front, so Rubber Band never
// reallocates its buffers mid-stream).
constexpr std::size_t kBlock = 4096;

// R3 (finer) is Rubber Band's higher-quality engine; no worker threads of its own, since the
// calls already run on the libuv pool.
constexpr RubberBandStretcher::Options kQuality =
    RubberBandStretcher::OptionEngineFiner | RubberBandStretcher::OptionPitchHighQuality |
    RubberBandStretcher::OptionWindowStandard | RubberBandStretcher::OptionThreadingNever;

// The R3 engine's lowest rate (below it, it only warns on stderr and works poorly).
constexpr int kMinSampleRate = 8000;

void check_arguments(int sample_rate, double speed) {
  if (sample_rate < kMinSampleRate)
    throw HiggsError(ErrorCode::Input, "time_stretch: sample rate must be >= 8000, got " + std::to_string(sample_rate));
  if (!(speed >= kMinSpeed && speed <= kMaxSpeed)) {  // also refuses NaN
    std::ostringstream message;
    message << "time_stretch: speed must be in [" << kMinSpeed << ", " << kMaxSpeed << "], got " << speed;
    throw HiggsError(ErrorCode::Input, message.str());
  }
}

std::unique_ptr<RubberBandStretcher> make_stretcher(int sample_rate, double speed, RubberBandStretcher::Options mode) {
  // Rubber Band's time ratio is output length over input length.
  auto rb = std::make_unique<RubberBandStretcher>(static_cast<std::size_t>(sample_rate), 1, mode | kQuality, 1.0 / speed, 1.0);
  rb->setMaxProcessSize(kBlock);
  return rb;
}

std::size_t expected_length(std::size_t n, double speed) {
  return static_cast<std::size_t>(std::llround(static_cast<double>(n) / speed));
}

// Appends everything the stretcher has ready to `out`; false once it has nothing more to give
// (-1: all retrieved; 0 after the final block: with no threads, nothing else will come).
bool drain(RubberBandStretcher& rb, std::vector<float>& out) {
  int ready = rb.available();
  if (ready <= 0) return false;
  std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(ready));
  float* channel = out.data() + at;
  out.resize(at + rb.retrieve(&channel, static_cast<std::size_t>(ready)));
  return true;
}

// Feeds samples in blocks of at most kBlock, draining after each; `final` marks the last block.
void feed(RubberBandStretcher& rb, const float* samples, std::size_t n, bool final, std::vector<float>& out) {
  std::size_t at = 0;
  do {
    std::size_t count = std::min(kBlock, n - at);
    const float* channel = samples + at;
    at += count;
    rb.process(&channel, count, final && at == n);
    drain(rb, out);
  } while (at < n);
}

}  // namespace

std::vector<float> time_stretch(const float* samples, std::size_t n, int sample_rate, double speed) {
  check_arguments(sample_rate, speed);
  if (speed == 1.0 || n == 0) return std::vector<float>(samples, samples + n);

  auto rb = make_stretcher(sample_rate, speed, RubberBandStretcher::OptionProcessOffline);
  rb->setExpectedInputDuration(n);  // lets the offline stretcher hit the output length exactly
  for (std::size_t at = 0; at < n; at += kBlock) {
    const float* channel = samples + at;
    std::size_t count = std::min(kBlock, n - at);
    rb->study(&channel, count, at + count == n);
  }
  std::vector<float> out;
  out.reserve(expected_length(n, speed) + kBlock);
  feed(*rb, samples, n, true, out);
  while (drain(*rb, out)) {
  }
  out.resize(expected_length(n, speed), 0.0f);
  return out;
}

struct TimeStretcher::Impl {
  double speed = 1.0;
  std::unique_ptr<RubberBandStretcher> rb;  // null at speed 1 (a pass-through)
  std::size_t input = 0;    // samples pushed
  std::size_t emitted = 0;  // samples returned
  std::size_t to_drop = 0;  // start delay not yet dropped
  bool finished = false;

  // The stretcher's output less the start delay still to drop; what is left counts as emitted.
  std::vector<float> take(std::vector<float> raw) {
    std::size_t cut = std::min(to_drop, raw.size());
    to_drop -= cut;
    raw.erase(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(cut));
    emitted += raw.size();
    return raw;
  }

  void check_open(const char* call) const {
    if (finished) throw HiggsError(ErrorCode::Input, std::string("TimeStretcher: ") + call + " after finish()");
  }
};

TimeStretcher::TimeStretcher(int sample_rate, double speed) : impl_(std::make_unique<Impl>()) {
  check_arguments(sample_rate, speed);
  impl_->speed = speed;
  if (speed == 1.0) return;
  impl_->rb = make_stretcher(sample_rate, speed, RubberBandStretcher::OptionProcessRealTime);
  // Real-time mode does no start compensation of its own: prime it with the silence it asks
  // for, then drop as many output samples as it says it is late, so that output starts with input.
  std::vector<float> pad(impl_->rb->getPreferredStartPad(), 0.0f);
  impl_->to_drop = impl_->rb->getStartDelay();
  std::vector<float> raw;
  if (!pad.empty()) feed(*impl_->rb, pad.data(), pad.size(), false, raw);
  impl_->take(std::move(raw));
}

TimeStretcher::~TimeStretcher() = default;

std::vector<float> TimeStretcher::push(const float* samples, std::size_t n) {
  impl_->check_open("push()");
  impl_->input += n;
  if (!impl_->rb) {
    impl_->emitted += n;
    return std::vector<float>(samples, samples + n);
  }
  std::vector<float> raw;
  if (n > 0) feed(*impl_->rb, samples, n, false, raw);
  return impl_->take(std::move(raw));
}

std::vector<float> TimeStretcher::finish() {
  impl_->check_open("finish()");
  impl_->finished = true;
  if (!impl_->rb) return {};
  // A final block of zero samples would drop what the stretcher still holds (R3, real time):
  // the last block is silence instead, long enough to push the tail out; the excess is cut below.
  std::vector<float> raw;
  std::vector<float> silence(std::max(kBlock, impl_->rb->getPreferredStartPad()), 0.0f);
  feed(*impl_->rb, silence.data(), silence.size(), true, raw);
  while (drain(*impl_->rb, raw)) {
  }
  auto tail = impl_->take(std::move(raw));
  // The stream's length is fixed here: round(input / speed) in all, cut or padded with silence.
  const std::size_t before = impl_->emitted - tail.size();  // returned by push()
  const std::size_t total = expected_length(impl_->input, impl_->speed);
  tail.resize(total > before ? total - before : 0, 0.0f);
  impl_->emitted = before + tail.size();
  return tail;
}

}  // namespace higgs::audio
