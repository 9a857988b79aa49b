#include "codec/decoder_context.h"

namespace higgs::codec {
namespace {

// The exact region [first, last] of one layer's output, in samples of that layer.
struct Exact {
  std::int64_t first;
  std::int64_t last;
};

Exact through_conv(Exact in, std::int64_t kernel, std::int64_t dilation, std::int64_t padding) {
  return {in.first + padding, in.last + padding - dilation * (kernel - 1)};
}

// Output o of a transposed conv (stride s, kernel k, padding p) reads inputs
// i in [ceil((o + p - k + 1) / s), floor((o + p) / s)]; it is exact when they all are.
Exact through_conv_transpose(Exact in, std::int64_t stride, std::int64_t kernel, std::int64_t padding) {
  return {(in.first - 1) * stride + kernel - padding, (in.last + 1) * stride - padding - 1};
}

std::int64_t frames_for(std::int64_t samples, std::int64_t samples_per_frame) {
  return samples <= 0 ? 0 : (samples + samples_per_frame - 1) / samples_per_frame;
}

}  // namespace

DecoderContext decoder_context(const DacConfig& acoustic) {
  // A long window keeps the exact region non-empty; the losses do not depend on its length.
  const std::int64_t window_frames = 1000;
  std::int64_t samples_per_frame = 1;
  Exact exact{0, window_frames - 1};
  exact = through_conv(exact, 7, 1, 3);  // conv1
  for (const std::int64_t stride : acoustic.upsampling_ratios) {
    exact = through_conv_transpose(exact, stride, 2 * stride, (stride + 1) / 2);
    samples_per_frame *= stride;
    for (const std::int64_t dilation : {1, 3, 9}) {
      exact = through_conv(exact, 7, dilation, 3 * dilation);  // residual unit conv1 (conv2 is k1)
    }
  }
  exact = through_conv(exact, 7, 1, 3);  // conv2
  const std::int64_t total = window_frames * samples_per_frame;
  return {frames_for(exact.first, samples_per_frame), frames_for(total - 1 - exact.last, samples_per_frame)};
}

}  // namespace higgs::codec
