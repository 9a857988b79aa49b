#include "audio/mpeg_frames.h"

#include <algorithm>
#include <cstring>

namespace higgs::audio {
namespace {

// kbit/s by [mpeg1 ? 0 : 1][layer 1..3 -> 0..2][bitrate index 1..14].
constexpr int kBitrates[2][3][15] = {
    {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
     {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
     {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}},
    {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}}};
constexpr int kRates[3] = {44100, 48000, 32000};

struct FrameHeader {
  int length = 0;  // bytes, header included; 0 if these 4 bytes are not a usable header
  int samples = 0;
};

FrameHeader parse_header(const std::uint8_t* h) {
  FrameHeader out;
  if (h[0] != 0xff || (h[1] & 0xe0) != 0xe0) return out;
  int version = (h[1] >> 3) & 3;  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  int layer = 4 - ((h[1] >> 1) & 3);
  int bitrate_index = h[2] >> 4, rate_index = (h[2] >> 2) & 3, padding = (h[2] >> 1) & 1;
  // Free-format bitrate (index 0) has no length in its header: stop the walk there.
  if (version == 1 || layer == 4 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3) return out;
  bool mpeg1 = version == 3;
  int rate = kRates[rate_index] >> (mpeg1 ? 0 : version == 2 ? 1 : 2);
  long bits_per_s = kBitrates[mpeg1 ? 0 : 1][layer - 1][bitrate_index] * 1000L;
  if (layer == 1) {
    out.length = int((12 * bits_per_s / rate + padding) * 4);
    out.samples = 384;
  } else {
    bool half = layer == 3 && !mpeg1;  // MPEG-2/2.5 layer III frames hold half as many samples
    out.length = int((half ? 72 : 144) * bits_per_s / rate + padding);
    out.samples = half ? 576 : 1152;
  }
  return out;
}

std::size_t skip_id3v2(const std::uint8_t* data, std::size_t size) {
  if (size < 10 || std::memcmp(data, "ID3", 3) != 0) return 0;
  std::size_t tag = (std::size_t(data[6] & 0x7f) << 21) | (std::size_t(data[7] & 0x7f) << 14) |
                    (std::size_t(data[8] & 0x7f) << 7) | std::size_t(data[9] & 0x7f);
  return 10 + tag + ((data[5] & 0x10) ? 10 : 0);  // footer flag
}

bool has_length_tag(const std::uint8_t* frame, std::size_t available) {
  // Xing/Info sit 13..36 bytes in depending on version and channel mode; VBRI at 36.
  std::size_t end = std::min<std::size_t>(available, 64);
  for (std::size_t i = 4; i + 4 <= end; ++i)
    if (!std::memcmp(frame + i, "Xing", 4) || !std::memcmp(frame + i, "Info", 4) || !std::memcmp(frame + i, "VBRI", 4))
      return true;
  return false;
}

}  // namespace

MpegScan scan_mpeg(const std::uint8_t* data, std::size_t size) {
  MpegScan scan;
  // The first frame: the first header after any ID3v2 tag that a second header follows.
  const std::size_t start = skip_id3v2(data, size);
  std::size_t pos = start;
  for (; pos + 4 <= size; ++pos) {
    FrameHeader h = parse_header(data + pos);
    if (h.length > 4 && pos + h.length + 4 <= size && parse_header(data + pos + h.length).length > 0) break;
  }
  if (pos + 4 > size) {
    // No two frames in a row: a file that starts a frame it does not hold was cut inside it.
    FrameHeader first = start + 4 <= size ? parse_header(data + start) : FrameHeader{};
    scan.ends_inside_frame = first.length > 4 && start + first.length > size;
    return scan;
  }
  scan.length_tag = has_length_tag(data + pos, size - pos);
  scan.samples_per_frame = parse_header(data + pos).samples;
  while (pos + 4 <= size) {
    FrameHeader h = parse_header(data + pos);
    if (h.length <= 4) break;  // garbage or a trailing tag (ID3v1, APE)
    if (pos + h.length > size) {
      scan.ends_inside_frame = true;
      break;
    }
    ++scan.frames;
    pos += h.length;
  }
  // Fewer than 4 bytes left that begin a frame sync: a header cut short.
  std::size_t left = size - std::min(pos, size);
  if (left > 0 && left < 4 && data[pos] == 0xff && (left == 1 || (data[pos + 1] & 0xe0) == 0xe0)) scan.ends_inside_frame = true;
  return scan;
}

}  // namespace higgs::audio
