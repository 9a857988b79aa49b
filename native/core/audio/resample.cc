#include "audio/resample.h"

#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "errors.h"

namespace higgs::audio {
namespace {

struct SoxrDeleter {
  void operator()(soxr* s) const { soxr_delete(s); }
};

void check_rate(double rate, const char* which) {
  if (!std::isfinite(rate) || rate <= 0.0)
    throw HiggsError(ErrorCode::Input, std::string("resample: ") + which + " rate must be > 0, got " + std::to_string(rate));
}

}  // namespace

std::size_t resampled_length(std::size_t n, double from_rate, double to_rate) {
  return static_cast<std::size_t>(std::ceil(static_cast<double>(n) * (to_rate / from_rate)));
}

std::vector<float> resample(const float* samples, std::size_t n, double from_rate, double to_rate) {
  check_rate(from_rate, "input");
  check_rate(to_rate, "output");
  if (from_rate == to_rate || n == 0) return std::vector<float>(samples, samples + n);

  soxr_error_t error = nullptr;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  std::unique_ptr<soxr, SoxrDeleter> resampler(soxr_create(from_rate, to_rate, 1, &error, &io, &quality, nullptr));
  if (error || !resampler) throw HiggsError(ErrorCode::Internal, std::string("soxr_create: ") + (error ? error : "failed"));

  // python-soxr caps soxr's output at ceil(n * to / from) (product first); keep the same cap so
  // the samples soxr emits are the same ones, then fix the length as librosa does.
  auto cap = static_cast<std::size_t>(std::ceil(static_cast<double>(n) * to_rate / from_rate));
  std::vector<float> out(std::max(cap, resampled_length(n, from_rate, to_rate)), 0.0f);

  // Feed ~1 s of output per call: soxr slows down on very long single blocks.
  auto chunk = std::max<std::size_t>(1, static_cast<std::size_t>(48000.0 * from_rate / to_rate));
  std::size_t produced = 0;
  for (std::size_t fed = 0; fed < n && produced < cap;) {
    std::size_t count = std::min(chunk, n - fed);
    std::size_t used = 0, done = 0;
    error = soxr_process(resampler.get(), samples + fed, count, &used, out.data() + produced, cap - produced, &done);
    if (error) throw HiggsError(ErrorCode::Internal, std::string("soxr_process: ") + error);
    fed += used;
    produced += done;
    if (used == 0 && done == 0) break;  // output full
  }
  // Flush: a null input tells soxr the stream has ended, releasing the filter's delayed tail.
  while (produced < cap) {
    std::size_t done = 0;
    error = soxr_process(resampler.get(), nullptr, 0, nullptr, out.data() + produced, cap - produced, &done);
    if (error) throw HiggsError(ErrorCode::Internal, std::string("soxr_process: ") + error);
    if (done == 0) break;
    produced += done;
  }
  // librosa's fix_length: zeros past what soxr produced, then cut to the librosa length.
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(produced), out.end(), 0.0f);
  out.resize(resampled_length(n, from_rate, to_rate));
  return out;
}

}  // namespace higgs::audio
