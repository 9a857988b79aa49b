// Output formats of write_audio and what this build of libsndfile can do with them. Which codecs
// libsndfile has depends on how it was built (MP3 needs >= 1.1 with lame and mpg123, Opus needs
// >= 1.0.29 with libopus), so support is probed at run time, never assumed from headers.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace higgs::audio {

enum class AudioFormat {
  Wav,     // RIFF WAVE, 16-bit PCM
  Flac,    // FLAC, 16-bit
  Mp3,     // MPEG-1/2 layer III (lame)
  Opus,    // Opus in Ogg
  Vorbis,  // Vorbis in Ogg
  Ulaw,    // RIFF WAVE, G.711 mu-law (telephony, usually 8 kHz)
  Alaw,    // RIFF WAVE, G.711 A-law
};

// "wav", "flac", "mp3", "opus", "vorbis", "ulaw", "alaw".
const char* audio_format_name(AudioFormat format);

// The inverse of audio_format_name, case-insensitive; "ogg" is accepted for Vorbis.
std::optional<AudioFormat> parse_audio_format(const std::string& name);

// The formats write_audio can produce here: each one is probed once by encoding a short silence.
std::vector<AudioFormat> supported_write_formats();

// Names of what read_audio decodes here ("wav", "flac", "vorbis", "opus", "mp3", "ulaw", "alaw", plus the other
// PCM containers it accepts: "aiff", "au", "caf", "w64", "rf64"), from libsndfile's format list.
std::vector<std::string> supported_read_formats();

// "wav, flac, ..." for error messages.
std::string join_format_names(const std::vector<std::string>& names);
std::string join_format_names(const std::vector<AudioFormat>& formats);

}  // namespace higgs::audio
