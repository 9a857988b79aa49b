// Codes -> 24 kHz waveform, the decode half of the Higgs Audio V2 tokenizer
// (docs/model.md#codec-decode):
//   RVQ dequantize (sum of project_out(embed[codes])) -> fc2 (hidden -> acoustic latent)
//   -> DAC decoder -> T * samples_per_frame samples (960 at 24 kHz), no trimming or padding.
// Weights live on one device in one dtype (fp32 is the intended codec dtype; with fp32 on CUDA
// turn TF32 off for parity). Waveforms come back as fp32 on that device (fp64 when the codec
// computes in fp64, for reference runs).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "codec/codec_config.h"
#include "codec/codec_weights.h"
#include "codec/conv_layers.h"
#include "codec/dac_decoder.h"
#include "codec/decoder_context.h"
#include "codec/rvq_decode.h"

namespace higgs::codec {

// Intermediates of one decode, for parity tests.
struct DecodeTrace {
  at::Tensor rvq_sum;  // [B, hidden, T]
  at::Tensor fc2_out;  // [B, acoustic hidden, T]: the DAC decoder's input
  DacDecoderTrace decoder;
};

class CodecDecoder {
 public:
  // Checks every decode tensor's shape and the quantizer count against `config`.
  CodecDecoder(CodecConfig config, const CodecWeights& weights);

  // config.json + only the decode tensors of codec_dir, converted to `options`.
  static CodecDecoder load(const std::string& codec_dir,
                           const at::TensorOptions& options = at::TensorOptions().dtype(at::kFloat));

  // codes [K, T] integer, values in [0, codebook_size) -> waveform [T * samples_per_frame()]
  // (waveform_type(), on the codec's device).
  // T = 0 gives an empty waveform. Bad codes: HiggsError(E_INPUT).
  at::Tensor decode(const at::Tensor& codes) const;

  // codes [B, K, T] -> [B, T * samples_per_frame()]; `trace` receives the intermediates.
  at::Tensor decode_batch(const at::Tensor& codes, DecodeTrace* trace = nullptr) const;

  // The samples of frames [begin, end) of codes [K, T], decoded from frames
  // [max(0, begin - context), min(T, end + context)) only: equal to
  // decode(codes).narrow(0, begin * spf, (end - begin) * spf) up to float rounding, at a cost that
  // does not grow with T. context < 0 means context_frames(); a smaller context than that is an
  // E_INPUT error (it would not be exact).
  at::Tensor decode_window(const at::Tensor& codes, std::int64_t begin, std::int64_t end,
                           std::int64_t context = -1) const;

  // The least context (frames a side) that keeps decode_window exact: 10 for the Higgs codec.
  std::int64_t context_frames() const { return context_.frames(); }
  std::int64_t samples_per_frame() const { return config_.samples_per_frame(); }
  at::ScalarType waveform_type() const;  // kFloat, or kDouble for an fp64 codec
  std::int64_t sample_rate() const { return config_.sample_rate; }
  const CodecConfig& config() const { return config_; }
  const at::TensorOptions& options() const { return options_; }

 private:
  CodecConfig config_;
  at::TensorOptions options_;
  RvqDecoder rvq_;
  Linear fc2_;
  DacDecoder dac_;
  DecoderContext context_;
};

}  // namespace higgs::codec
