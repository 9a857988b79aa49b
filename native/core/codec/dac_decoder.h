// The DAC acoustic decoder of the codec (transformers `acoustic_decoder.*`, ORIG `decoder_2`):
//   conv1 (hidden -> C, k7 p3)
//   block i = 0..n-1 (stride s = upsampling_ratios[i], C_in = C / 2^i, C_out = C / 2^(i+1)):
//     snake1(C_in) -> conv_t1 ConvTranspose1d(C_in -> C_out, k 2s, stride s, padding ceil(s/2),
//     output_padding s % 2) -> res_unit1/2/3 (dilation 1, 3, 9)
//   snake1(C / 2^n) -> conv2 (-> 1 channel, k7 p3); NO tanh (the reference replaced it by identity).
// Each block maps length L to exactly L * s, so T latent frames give T * prod(ratios) samples.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "codec/codec_config.h"
#include "codec/conv_layers.h"
#include "codec/dac_residual_unit.h"
#include "codec/snake.h"

namespace higgs::codec {

struct DacDecoderBlock {
  Snake snake1;
  ConvTranspose1d conv_t1;
  DacResidualUnit res_unit1, res_unit2, res_unit3;

  at::Tensor forward(const at::Tensor& x) const;  // [B, C_in, L] -> [B, C_out, L * stride]
};

// Intermediate outputs, for parity tests against the reference's hooks.
struct DacDecoderTrace {
  at::Tensor conv1;                // [B, C, T]
  std::vector<at::Tensor> blocks;  // block i output [B, C / 2^(i+1), T * prod(ratios[0..i])]
};

class DacDecoder {
 public:
  // Loads `<prefix>conv1`, `<prefix>block.{i}.*`, `<prefix>snake1`, `<prefix>conv2` with shape checks.
  DacDecoder(const DacConfig& config, const CodecWeights& weights, const std::string& prefix = "acoustic_decoder.");

  // latent [B, hidden_size, T] -> waveform [B, 1, T * prod(upsampling_ratios)].
  at::Tensor forward(const at::Tensor& latent, DacDecoderTrace* trace = nullptr) const;

 private:
  Conv1d conv1_;
  std::vector<DacDecoderBlock> blocks_;
  Snake snake1_;
  Conv1d conv2_;
};

}  // namespace higgs::codec
