// Encoding a stream of mono samples piece by piece, for audio that leaves while it is still being
// generated: push() returns the bytes that are final so far, finish() the rest. Every format of
// write_audio streams through libsndfile's virtual I/O:
//  - wav, ulaw, alaw: a RIFF header whose sizes say "unknown" (0xFFFFFFFF, as for a live stream),
//    then the samples as libsndfile encodes them headerless; "pcm" is the same samples with no
//    header at all.
//  - flac, mp3, opus, vorbis: libsndfile's own writer. Bytes once returned are never changed, so
//    what the writer patches on close is not in the stream: FLAC's STREAMINFO keeps its "unknown"
//    totals and MD5, an MP3 keeps LAME's placeholder first frame instead of its Xing/LAME tag.
// Samples are clipped as write_audio clips them, and PCM16 formats give the same bytes as a whole
// file's. Errors are HiggsError: E_INPUT for a format or rate that cannot stream here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "audio/audio_format.h"

namespace higgs::audio {

struct StreamSink;

class StreamEncoder {
 public:
  // `headerless`: PCM samples alone (only with wav, ulaw or alaw). The rate must be one the format
  // carries as it is (encoded_sample_rate(rate, format) == rate): a stream is not resampled here.
  StreamEncoder(AudioFormat format, int sample_rate, bool headerless = false);
  ~StreamEncoder();
  StreamEncoder(const StreamEncoder&) = delete;
  StreamEncoder& operator=(const StreamEncoder&) = delete;

  std::vector<std::uint8_t> push(const float* samples, std::size_t n);
  // Flushes the encoder; the stream is over (a later call is E_INPUT).
  std::vector<std::uint8_t> finish();

 private:
  struct File;
  void write(const float* samples, std::size_t n);
  std::vector<std::uint8_t> take();

  AudioFormat format_;
  std::unique_ptr<StreamSink> sink_;
  std::unique_ptr<File> file_;
  std::vector<std::uint8_t> header_;  // the RIFF header, sent before the first samples
  bool finished_ = false;
};

}  // namespace higgs::audio
