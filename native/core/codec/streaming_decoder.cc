#include "codec/streaming_decoder.h"

#include <algorithm>

#include "codec/code_checks.h"
#include "errors.h"

namespace higgs::codec {

StreamingCodecDecoder::StreamingCodecDecoder(const CodecDecoder& decoder, std::int64_t min_chunk_frames,
                                             std::int64_t context)
    : decoder_(decoder),
      min_chunk_frames_(std::max<std::int64_t>(1, min_chunk_frames)),
      context_(context < 0 ? decoder.context_frames() : context) {
  if (context_ < decoder.context_frames()) {
    throw HiggsError(ErrorCode::Input, "streaming codec context " + std::to_string(context_) +
                                           " is below the decoder's receptive field of " +
                                           std::to_string(decoder.context_frames()) + " frames a side");
  }
  buffer_ = at::empty({decoder.config().num_quantizers, 0}, at::kLong);
}

at::Tensor StreamingCodecDecoder::push(const at::Tensor& codes) {
  if (finished_) throw HiggsError(ErrorCode::Input, "streaming codec decoder: push after finish");
  const auto& config = decoder_.config();
  check_codes(codes, 2, config.num_quantizers, config.codebook_size);
  buffer_ = at::cat({buffer_, codes.to(buffer_.device(), at::kLong)}, 1);
  pushed_ += codes.size(1);
  const std::int64_t ready = pushed_ - context_;  // frames with their full right context
  if (ready - emitted_ < min_chunk_frames_) return at::empty({0}, decoder_.options().dtype(decoder_.waveform_type()));
  return emit_until(ready);
}

at::Tensor StreamingCodecDecoder::finish() {
  if (finished_) return at::empty({0}, decoder_.options().dtype(decoder_.waveform_type()));
  finished_ = true;
  return emit_until(pushed_);  // the true end: the whole decode pads here too
}

at::Tensor StreamingCodecDecoder::emit_until(std::int64_t end_frame) {
  if (end_frame <= emitted_) return at::empty({0}, decoder_.options().dtype(decoder_.waveform_type()));
  const at::Tensor audio =
      decoder_.decode_window(buffer_, emitted_ - buffer_start_, end_frame - buffer_start_, context_);
  emitted_ = end_frame;
  // Keep only what later windows read: `context_` frames before the next frame to emit.
  const std::int64_t keep_from = std::max<std::int64_t>(buffer_start_, emitted_ - context_);
  buffer_ = buffer_.narrow(1, keep_from - buffer_start_, pushed_ - keep_from).contiguous();
  buffer_start_ = keep_from;
  return audio;
}

}  // namespace higgs::codec
