// Reference audio -> codec codes: the encode path of the Higgs Audio V2 tokenizer, as
// transformers' HiggsAudioV2TokenizerModel.encode computes it for one mono clip.
//
//   semantic: resample 24k -> 16k (torchaudio defaults), zero-pad 160 samples each side, HuBERT
//             with all hidden states, mean of the num_layers + 1 states, keep every 2nd frame
//             (50 Hz -> 25 Hz), semantic adapter                          -> e_semantic [Cs, T]
//   acoustic: DAC encoder on the 24 kHz samples                           -> e_acoustic [Ca, T]
//   fusion:   fc over cat([e_acoustic, e_semantic]) (acoustic first), then RVQ -> codes [K, T]
//
// Frame count and padding convention (transformers, the source of the goldens):
//   T = frames of the semantic branch = floor((N + 841) / 960) for the 24k/16k/hop-960 model,
//   i.e. N / 960 for multiples of 960, otherwise floor(N / 960) or that + 1 (when N % 960 >= 119).
//   When the DAC encoder on the raw N samples would give T - 1 frames (N % 960 in [119, 631]),
//   the acoustic branch runs on the input zero-padded by hop / 2 = 480 samples on EACH side
//   (transformers' `self.pad`), which yields exactly T frames. The original boson-ai code pads
//   320 per side instead and truncates, so its codes differ for those lengths; we follow
//   transformers. No padding happens anywhere for N % 960 == 0.
// Minimum input: enough samples for one HuBERT frame (119 at 24 kHz for the real model).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "codec/acoustic_encoder.h"
#include "codec/hubert.h"
#include "codec/rvq_encode.h"
#include "codec/semantic_encoder.h"

namespace higgs::codec {

struct CodecEncoderParams {
  std::int64_t sample_rate = 24000;
  std::int64_t semantic_sample_rate = 16000;
  std::vector<std::int64_t> downsampling_ratios{8, 5, 4, 2, 3};  // DAC encoder strides
  std::int64_t semantic_downsample_factor = 2;  // int(hop / (sr / semantic_sr) / 320)
  std::int64_t semantic_pad = 160;              // 16 kHz samples, each side, before HuBERT
  HubertParams hubert;

  std::int64_t hop_length() const;  // product of downsampling_ratios (960)
  std::int64_t acoustic_pad() const { return hop_length() / 2; }
};

struct CodecEncoderWeights {
  HubertWeights hubert;
  SemanticEncoderWeights semantic;
  AcousticEncoderWeights acoustic;
  at::Tensor fc_w, fc_b;  // fc_prior: [hidden, hidden], hidden = acoustic + semantic channels
  std::vector<RvqLayer> quantizers;
};

// Every intermediate of one encode, shaped like the goldens (batch dim 1 kept).
struct EncodeTrace {
  at::Tensor resampled_16k;             // [1, 1, ceil(2N/3)]
  at::Tensor hubert_hidden_states;      // [num_layers + 1, 1, H, Cs]
  at::Tensor semantic_layer_mean_full;  // [1, H, Cs]
  at::Tensor semantic_layer_mean;       // [1, T, Cs]
  at::Tensor e_semantic;                // [1, Cs, T]
  at::Tensor e_acoustic;                // [1, Ca, T]
  AcousticEncoderTrace acoustic;        // conv1 and block outputs of the DAC encoder
  at::Tensor fc_prior_out;              // [1, hidden, T]
  at::Tensor rvq_margin;                // [K, T]
  bool acoustic_padded = false;         // the hop/2 re-pad ran
};

class CodecEncoder {
 public:
  // Weights are moved to `options` (fp32 on its device).
  CodecEncoder(CodecEncoderParams params, CodecEncoderWeights weights, const at::TensorOptions& options);

  // wave24k: 1-D float tensor [N] of 24 kHz mono samples on any device. Returns codes
  // [num_quantizers, num_frames(N)] int64 on the CPU. E_INPUT for an undefined, non-float, not
  // 1-D, empty, too short or non-finite input. `trace` (optional) receives the intermediates.
  at::Tensor encode(const at::Tensor& wave24k, EncodeTrace* trace = nullptr) const;

  std::int64_t num_frames(std::int64_t samples) const;  // T for N samples; 0 if too short
  std::int64_t min_samples() const;                     // smallest N with num_frames(N) >= 1
  std::int64_t num_quantizers() const { return static_cast<std::int64_t>(weights_.quantizers.size()); }
  const CodecEncoderParams& params() const { return params_; }
  const CodecEncoderWeights& weights() const { return weights_; }  // on options().device()
  const at::TensorOptions& options() const { return options_; }

 private:
  void validate(const at::Tensor& wave) const;
  at::Tensor semantic_features(const at::Tensor& wave, EncodeTrace* trace) const;
  at::Tensor acoustic_features(const at::Tensor& wave, std::int64_t frames, EncodeTrace* trace) const;

  CodecEncoderParams params_;
  CodecEncoderWeights weights_;
  at::TensorOptions options_;
};

}  // namespace higgs::codec
