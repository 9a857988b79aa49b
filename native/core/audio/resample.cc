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

using Resampler = std::unique_ptr<soxr, SoxrDeleter>;

Resampler make_resampler(double from_rate, double to_rate) {
  soxr_error_t error = nullptr;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  Resampler resampler(soxr_create(from_rate, to_rate, 1, &error, &io, &quality, nullptr));
  if (error || !resampler) throw HiggsError(ErrorCode::Internal, std::string("soxr_create: ") + (error ? error : "failed"));
  return resampler;
}

// Input per soxr_process call, about 1 s of output: soxr slows down on very long single blocks.
std::size_t input_block(double from_rate, double to_rate) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(48000.0 * from_rate / to_rate));
}

void check_soxr(soxr_error_t error) {
  if (error) throw HiggsError(ErrorCode::Internal, std::string("soxr_process: ") + error);
}

}  // namespace

std::size_t resampled_length(std::size_t n, double from_rate, double to_rate) {
  return static_cast<std::size_t>(std::ceil(static_cast<double>(n) * (to_rate / from_rate)));
}

std::vector<float> resample(const float* samples, std::size_t n, double from_rate, double to_rate) {
  check_rate(from_rate, "input");
  check_rate(to_rate, "output");
  if (from_rate == to_rate || n == 0) return std::vector<float>(samples, samples + n);

  Resampler resampler = make_resampler(from_rate, to_rate);

  // python-soxr caps soxr's output at ceil(n * to / from) (product first); keep the same cap so
  // the samples soxr emits are the same ones, then fix the length as librosa does.
  auto cap = static_cast<std::size_t>(std::ceil(static_cast<double>(n) * to_rate / from_rate));
  std::vector<float> out(std::max(cap, resampled_length(n, from_rate, to_rate)), 0.0f);

  const std::size_t chunk = input_block(from_rate, to_rate);
  std::size_t produced = 0;
  for (std::size_t fed = 0; fed < n && produced < cap;) {
    std::size_t count = std::min(chunk, n - fed);
    std::size_t used = 0, done = 0;
    check_soxr(soxr_process(resampler.get(), samples + fed, count, &used, out.data() + produced, cap - produced, &done));
    fed += used;
    produced += done;
    if (used == 0 && done == 0) break;  // output full
  }
  // Flush: a null input tells soxr the stream has ended, releasing the filter's delayed tail.
  while (produced < cap) {
    std::size_t done = 0;
    check_soxr(soxr_process(resampler.get(), nullptr, 0, nullptr, out.data() + produced, cap - produced, &done));
    if (done == 0) break;
    produced += done;
  }
  // librosa's fix_length: zeros past what soxr produced, then cut to the librosa length.
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(produced), out.end(), 0.0f);
  out.resize(resampled_length(n, from_rate, to_rate));
  return out;
}

struct StreamResampler::Impl {
  double from = 0, to = 0;
  Resampler soxr;  // null for equal rates (a pass-through)
  std::size_t input = 0;    // samples pushed
  std::size_t emitted = 0;  // samples returned
  bool finished = false;

  // Room for what `n` more input samples can release, plus the filter's held-back tail.
  std::vector<float> buffer(std::size_t n) const {
    return std::vector<float>(static_cast<std::size_t>(std::ceil(static_cast<double>(n) * to / from)) + 1024);
  }

  void check_open(const char* call) const {
    if (finished) throw HiggsError(ErrorCode::Input, std::string("StreamResampler: ") + call + " after finish()");
  }
};

StreamResampler::StreamResampler(double from_rate, double to_rate) : impl_(std::make_unique<Impl>()) {
  check_rate(from_rate, "input");
  check_rate(to_rate, "output");
  impl_->from = from_rate;
  impl_->to = to_rate;
  if (from_rate != to_rate) impl_->soxr = make_resampler(from_rate, to_rate);
}

StreamResampler::~StreamResampler() = default;

std::vector<float> StreamResampler::push(const float* samples, std::size_t n) {
  impl_->check_open("push()");
  impl_->input += n;
  if (!impl_->soxr) {
    impl_->emitted += n;
    return std::vector<float>(samples, samples + n);
  }
  std::vector<float> out;
  const std::size_t block = input_block(impl_->from, impl_->to);
  for (std::size_t fed = 0; fed < n;) {
    const std::size_t count = std::min(block, n - fed);
    auto room = impl_->buffer(count);
    std::size_t used = 0, done = 0;
    check_soxr(soxr_process(impl_->soxr.get(), samples + fed, count, &used, room.data(), room.size(), &done));
    fed += used;
    out.insert(out.end(), room.begin(), room.begin() + static_cast<std::ptrdiff_t>(done));
    if (used == 0 && done == 0) throw HiggsError(ErrorCode::Internal, "soxr_process: no progress");
  }
  impl_->emitted += out.size();
  return out;
}

std::vector<float> StreamResampler::finish() {
  impl_->check_open("finish()");
  impl_->finished = true;
  if (!impl_->soxr) return {};
  // A null input tells soxr the stream has ended, releasing the filter's delayed tail.
  std::vector<float> tail;
  for (;;) {
    auto room = impl_->buffer(0);
    std::size_t done = 0;
    check_soxr(soxr_process(impl_->soxr.get(), nullptr, 0, nullptr, room.data(), room.size(), &done));
    if (done == 0) break;
    tail.insert(tail.end(), room.begin(), room.begin() + static_cast<std::ptrdiff_t>(done));
  }
  // As resample(): the stream's total is resampled_length(input), cut or padded with zeros.
  const std::size_t total = resampled_length(impl_->input, impl_->from, impl_->to);
  const std::size_t before = impl_->emitted;
  tail.resize(total > before ? total - before : 0, 0.0f);
  impl_->emitted = before + tail.size();
  return tail;
}

}  // namespace higgs::audio
