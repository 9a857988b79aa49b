#include "audio/truncation.h"

#include <cstring>

#include "audio/mpeg_frames.h"

namespace higgs::audio {
namespace {

std::uint32_t le32(const std::uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | std::uint32_t(p[3]) << 24; }

bool tag_at(const std::uint8_t* data, std::size_t size, std::size_t pos, const char* tag) {
  return pos + 4 <= size && std::memcmp(data + pos, tag, 4) == 0;
}

}  // namespace

bool wav_data_truncated(const std::uint8_t* data, std::size_t size) {
  if (!tag_at(data, size, 0, "RIFF") || !tag_at(data, size, 8, "WAVE")) return false;
  std::size_t pos = 12;
  while (pos + 8 <= size) {
    std::uint32_t length = le32(data + pos + 4);
    if (tag_at(data, size, pos, "data")) {
      if (length == 0 || length >= 0x7fff0000u) return false;
      return pos + 8 + std::size_t(length) > size;
    }
    pos += 8 + std::size_t(length) + (length & 1);  // chunks are padded to even sizes
  }
  return false;  // no data chunk in reach: libsndfile decides what that is
}

bool mpeg_frame_cut(const std::string& format, const std::uint8_t* data, std::size_t size) {
  return (format == "mp3" || format == "mp2" || format == "mp1") && scan_mpeg(data, size).ends_inside_frame;
}

std::optional<ExpectedLength> expected_length(const std::string& format, long long header_frames, int sample_rate,
                                              const std::uint8_t* data, std::size_t size) {
  bool known = header_frames > 0;
  if (format == "flac" && known) return ExpectedLength{header_frames, 0};  // STREAMINFO: exact
  // The last page's granule position, rescaled by libsndfile for Opus: allow 10 ms of rounding.
  if ((format == "vorbis" || format == "opus") && known) return ExpectedLength{header_frames, sample_rate / 100};
  if (format == "mp3" || format == "mp2" || format == "mp1") {
    MpegScan scan = scan_mpeg(data, size);
    if (scan.length_tag && known) return ExpectedLength{header_frames, scan.samples_per_frame};
    // Untagged: the decoder (no gapless info) yields every frame; the walk may stop one frame
    // short of it or miscount the first, hence two frames of slack.
    if (scan.frames > 2)
      return ExpectedLength{scan.frames * scan.samples_per_frame, 2LL * scan.samples_per_frame,
                            "; libsndfile reads an MP3 without a Xing/Info header only up to a length estimated from "
                            "its first frame, which cuts VBR files: re-encode it with the header, or send WAV/FLAC"};
  }
  return std::nullopt;
}

}  // namespace higgs::audio
