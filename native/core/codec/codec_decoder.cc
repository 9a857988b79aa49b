#include "codec/codec_decoder.h"

#include <c10/core/InferenceMode.h>

#include "codec/code_checks.h"
#include "errors.h"

namespace higgs::codec {
namespace {

// The quantizer count is checked before any member is built, so that a checkpoint with more or
// fewer codebooks than the config is reported as such rather than as a missing tensor.
const CodecWeights& checked(const CodecConfig& config, const CodecWeights& weights) {
  check_num_quantizers(config, weights);
  return weights;
}

}  // namespace

CodecDecoder::CodecDecoder(CodecConfig config, const CodecWeights& weights)
    : config_(std::move(config)),
      options_(weights.options()),
      rvq_(config_, checked(config_, weights)),
      fc2_(load_linear(weights, "fc2", config_.acoustic.hidden_size, config_.hidden_size)),
      dac_(config_.acoustic, weights),
      context_(decoder_context(config_.acoustic)) {}

CodecDecoder CodecDecoder::load(const std::string& codec_dir, const at::TensorOptions& options) {
  CodecConfig config = load_codec_config(codec_dir);
  return CodecDecoder(std::move(config), CodecWeights::load(codec_dir, options, is_decoder_tensor));
}

at::ScalarType CodecDecoder::waveform_type() const {
  return options_.dtype() == at::kDouble ? at::kDouble : at::kFloat;
}

at::Tensor CodecDecoder::decode_batch(const at::Tensor& codes, DecodeTrace* trace) const {
  check_codes(codes, 3, config_.num_quantizers, config_.codebook_size);
  const std::int64_t batch = codes.size(0), frames = codes.size(2);
  if (frames == 0) return at::empty({batch, 0}, options_.dtype(waveform_type()));
  c10::InferenceMode inference;
  const at::Tensor device_codes = codes.to(options_.device(), at::kLong);
  const at::Tensor rvq_sum = rvq_.dequantize(device_codes);          // [B, T, hidden]
  const at::Tensor latent = fc2_.forward(rvq_sum).transpose(1, 2).contiguous();  // [B, acoustic, T]
  if (trace) {
    trace->rvq_sum = rvq_sum.transpose(1, 2);
    trace->fc2_out = latent;
  }
  const at::Tensor audio = dac_.forward(latent, trace ? &trace->decoder : nullptr);  // [B, 1, T * spf]
  return audio.reshape({batch, -1}).to(waveform_type());
}

at::Tensor CodecDecoder::decode(const at::Tensor& codes) const {
  check_codes(codes, 2, config_.num_quantizers, config_.codebook_size);
  return decode_batch(codes.unsqueeze(0)).squeeze(0);
}

at::Tensor CodecDecoder::decode_window(const at::Tensor& codes, std::int64_t begin, std::int64_t end,
                                       std::int64_t context) const {
  check_codes(codes, 2, config_.num_quantizers, config_.codebook_size);
  const std::int64_t frames = codes.size(1);
  if (begin < 0 || end < begin || end > frames) {
    throw HiggsError(ErrorCode::Input, "codec decode window [" + std::to_string(begin) + ", " + std::to_string(end) +
                                           ") is not inside the " + std::to_string(frames) + " frames given");
  }
  if (context < 0) context = context_frames();
  if (context < context_frames()) {
    throw HiggsError(ErrorCode::Input, "codec decode window context " + std::to_string(context) +
                                           " is below the decoder's receptive field of " +
                                           std::to_string(context_frames()) + " frames a side");
  }
  const std::int64_t spf = samples_per_frame();
  const std::int64_t first = std::max<std::int64_t>(0, begin - context);
  const std::int64_t last = std::min(frames, end + context);
  if (begin == end) return at::empty({0}, options_.dtype(waveform_type()));
  const at::Tensor audio = decode(codes.narrow(1, first, last - first));
  return audio.narrow(0, (begin - first) * spf, (end - begin) * spf).contiguous();
}

}  // namespace higgs::codec
