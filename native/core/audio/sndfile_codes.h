// libsndfile format codes used by native/core/audio, and the names this module gives them.
// MPEG and Opus are spelled as numbers: their enumerators are missing from sndfile.h before 1.1
// and 1.0.29, and the values are fixed by libsndfile's ABI. Whether the library in use actually
// has the codec is found at run time (audio_format.cc).
#pragma once

#include <sndfile.h>

#include <string>

#include "audio/audio_format.h"

namespace higgs::audio {

constexpr int kMajorMpeg = 0x230000;     // SF_FORMAT_MPEG
constexpr int kSubtypeOpus = 0x0064;     // SF_FORMAT_OPUS
constexpr int kSubtypeMpegL1 = 0x0080;   // SF_FORMAT_MPEG_LAYER_I
constexpr int kSubtypeMpegL2 = 0x0081;   // SF_FORMAT_MPEG_LAYER_II
constexpr int kSubtypeMpegL3 = 0x0082;   // SF_FORMAT_MPEG_LAYER_III

// SF_INFO.format for writing `format` (mono, 16-bit where the codec is PCM).
int sndfile_write_format(AudioFormat format);

// The name read_audio reports for a decoded file of libsndfile format `format` (major | subtype),
// or "" when read_audio does not accept that container/codec.
std::string read_format_name(int format);

// libsndfile's own descriptions of a format's parts, e.g. "WAV (Microsoft)" and "Signed 16 bit
// PCM"; "" if unknown.
std::string major_description(int format);
std::string subtype_description(int format);

}  // namespace higgs::audio
