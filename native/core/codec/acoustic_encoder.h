// The DAC acoustic encoder of the codec (HF "acoustic_encoder", ORIG "encoder"): Conv1d 1->C k7,
// then one EncoderBlock per downsampling ratio (3 Snake residual units with dilation 1, 3, 9,
// Snake, strided conv k=2s, pad ceil(s/2), channels x2), then Snake and Conv1d -> hidden k3.
// Weight norm is folded by the loader; the ratios run in config order (8, 5, 4, 2, 3), the same
// order as the decoder's (not reversed as in stock DAC).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace higgs::codec {

// x + conv2_1x1(Snake2(conv1_k7_dil(Snake1(x)))), both convs with bias, length kept (pad 3*dil).
struct DacResUnit {
  at::Tensor snake1_alpha, conv1_w, conv1_b;  // alpha [1, C, 1]; conv1 [C, C, 7]
  at::Tensor snake2_alpha, conv2_w, conv2_b;  // conv2 [C, C, 1]
  std::int64_t dilation = 1;
};

struct DacEncoderBlock {
  std::vector<DacResUnit> res_units;  // dilations 1, 3, 9
  at::Tensor snake_alpha;             // [1, C, 1]
  at::Tensor conv_w, conv_b;          // [2C, C, 2 * stride]
  std::int64_t stride = 1;
};

struct AcousticEncoderWeights {
  at::Tensor conv1_w, conv1_b;  // [C0, 1, 7]
  std::vector<DacEncoderBlock> blocks;
  at::Tensor snake_alpha;       // [1, C_last, 1]
  at::Tensor conv2_w, conv2_b;  // [hidden, C_last, 3]
};

// Optional intermediates for parity tests (HF names: conv1, block.i).
struct AcousticEncoderTrace {
  at::Tensor conv1;
  std::vector<at::Tensor> blocks;
};

// x [1, 1, N] -> [1, hidden, acoustic_encoder_frames(ratios, N)].
at::Tensor acoustic_encoder_forward(const AcousticEncoderWeights& weights, const at::Tensor& x,
                                    AcousticEncoderTrace* trace = nullptr);

// Output frames for N samples: each block maps L to floor((L + 2 ceil(s/2) - 2s) / s) + 1, i.e.
// floor(L/s) for even s and floor((L+1)/s) for odd s; 0 if some stage gets too short to convolve.
std::int64_t acoustic_encoder_frames(const std::vector<std::int64_t>& ratios, std::int64_t samples);

}  // namespace higgs::codec
