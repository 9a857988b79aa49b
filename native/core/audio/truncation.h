// Signs that a file was cut short (or that libsndfile stopped early) which libsndfile does not
// report itself: it decodes a cut WAV up to the end of the bytes and most codecs up to the last
// intact frame, all without an error. read_audio turns these into E_INPUT. Internal to
// native/core/audio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace higgs::audio {

// A RIFF/WAVE file whose data chunk claims more bytes than are present. Sizes meaning "unknown"
// (0, and >= 0x7FFF0000 as streaming writers leave them: 0xFFFFFFFF, sox's 0x7FFFF000) claim
// nothing: such files are read to the end of the bytes, as every player does.
bool wav_data_truncated(const std::uint8_t* data, std::size_t size);

// How many frames a complete, fully decoded file holds, give or take `slack`.
struct ExpectedLength {
  long long frames;
  long long slack;
  const char* hint = "";  // appended to the error when the decode falls short
};

// An MPEG audio file (mp1/mp2/mp3) whose bytes end inside a frame: cut short, even when the
// decoder yields as many frames as a header announces (it fills up the cut frame).
bool mpeg_frame_cut(const std::string& format, const std::uint8_t* data, std::size_t size);

// For `format` as read_audio names it, given libsndfile's frame count (<= 0 if unknown).
// Nothing for PCM containers, whose count libsndfile derives from the bytes present. For mp3 the
// count comes from a Xing/Info/VBRI frame when there is one, else from walking the frame headers
// (libsndfile's own estimate would hide a cut; see mpeg_frames.h).
std::optional<ExpectedLength> expected_length(const std::string& format, long long header_frames, int sample_rate,
                                              const std::uint8_t* data, std::size_t size);

}  // namespace higgs::audio
