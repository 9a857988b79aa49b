// A walk over the frame headers of an MPEG audio stream (mp1/mp2/mp3), without decoding. Needed
// because libsndfile never returns more frames than its length estimate, and for an mp3 without
// a Xing/Info/VBRI frame that estimate comes from the first frame's bitrate: a VBR file can end
// up cut to a fraction of its length with no error. Internal to native/core/audio.
#pragma once

#include <cstddef>
#include <cstdint>

namespace higgs::audio {

struct MpegScan {
  bool length_tag = false;        // the first frame is a Xing/Info/VBRI frame (exact length)
  long long frames = 0;           // consecutive well-formed frames from the first one
  int samples_per_frame = 0;      // of the first frame (384, 576 or 1152)
  // The bytes end inside a frame whose header the walk reached: the file was cut mid-frame (the
  // decoder would still yield that frame, filled up, so the frame count cannot show it).
  bool ends_inside_frame = false;
};

MpegScan scan_mpeg(const std::uint8_t* data, std::size_t size);

}  // namespace higgs::audio
