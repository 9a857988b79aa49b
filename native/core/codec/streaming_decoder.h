// Incremental decode for streaming generation: frames arrive a few at a time, audio leaves as
// soon as a frame has its full right context. Every emitted sample equals the corresponding
// sample of a whole-sequence decode of all frames (up to float rounding), because each chunk is
// decoded with CodecDecoder::decode_window and at least context_frames() of context a side.
// Only the frames still needed as context are kept, so memory does not grow with the stream.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "codec/codec_decoder.h"

namespace higgs::codec {

class StreamingCodecDecoder {
 public:
  // `decoder` must outlive this object. Audio is emitted once at least `min_chunk_frames`
  // frames are ready (fewer at finish()). context < 0 means decoder.context_frames().
  explicit StreamingCodecDecoder(const CodecDecoder& decoder, std::int64_t min_chunk_frames = 1,
                                 std::int64_t context = -1);

  // Appends codes [K, n] (n may be 0). Returns the samples (decoder.waveform_type()) of the frames that became
  // final, possibly none ([0]). E_INPUT for bad codes or a push after finish().
  at::Tensor push(const at::Tensor& codes);

  // End of the stream: the samples of every frame not yet returned. Later calls return [0].
  at::Tensor finish();

  std::int64_t frames_pushed() const { return pushed_; }
  std::int64_t frames_emitted() const { return emitted_; }

 private:
  at::Tensor emit_until(std::int64_t end_frame);  // decode [emitted_, end_frame), then trim

  const CodecDecoder& decoder_;
  std::int64_t min_chunk_frames_;
  std::int64_t context_;
  at::Tensor buffer_;             // [K, pushed_ - buffer_start_] codes still needed
  std::int64_t buffer_start_ = 0; // absolute index of buffer_'s first frame
  std::int64_t pushed_ = 0;
  std::int64_t emitted_ = 0;
  bool finished_ = false;
};

}  // namespace higgs::codec
