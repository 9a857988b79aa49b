#include "audio/audio_format.h"

#include <sndfile.h>

#include <algorithm>
#include <cctype>

#include "audio/audio_encode.h"
#include "audio/sndfile_codes.h"

namespace higgs::audio {
namespace {

constexpr AudioFormat kAllFormats[] = {AudioFormat::Wav,    AudioFormat::Flac, AudioFormat::Mp3, AudioFormat::Opus,
                                       AudioFormat::Vorbis, AudioFormat::Ulaw, AudioFormat::Alaw};

// Encoding a short silence is the only reliable test: sf_format_check accepts MPEG even where
// libsndfile was built without lame, and opening may succeed while the encoder then fails.
bool can_encode(AudioFormat format) {
  std::vector<float> silence(4800, 0.0f);
  try {
    return !encode_mono(silence.data(), silence.size(), 24000, format).empty();
  } catch (...) {
    return false;
  }
}

std::vector<int> listed_codes(int count_command, int item_command) {
  int count = 0;
  sf_command(nullptr, count_command, &count, sizeof(count));
  std::vector<int> codes;
  for (int i = 0; i < count; ++i) {
    SF_FORMAT_INFO info{};
    info.format = i;
    if (sf_command(nullptr, item_command, &info, sizeof(info)) == 0) codes.push_back(info.format);
  }
  return codes;
}

}  // namespace

const char* audio_format_name(AudioFormat format) {
  switch (format) {
    case AudioFormat::Wav: return "wav";
    case AudioFormat::Flac: return "flac";
    case AudioFormat::Mp3: return "mp3";
    case AudioFormat::Opus: return "opus";
    case AudioFormat::Vorbis: return "vorbis";
    case AudioFormat::Ulaw: return "ulaw";
    case AudioFormat::Alaw: return "alaw";
  }
  return "?";
}

std::optional<AudioFormat> parse_audio_format(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "ogg") return AudioFormat::Vorbis;
  for (AudioFormat format : kAllFormats)
    if (lower == audio_format_name(format)) return format;
  return std::nullopt;
}

std::vector<AudioFormat> supported_write_formats() {
  static const std::vector<AudioFormat> formats = [] {
    std::vector<AudioFormat> out;
    for (AudioFormat format : kAllFormats)
      if (can_encode(format)) out.push_back(format);
    return out;
  }();
  return formats;
}

std::vector<std::string> supported_read_formats() {
  static const std::vector<std::string> names = [] {
    std::vector<int> majors = listed_codes(SFC_GET_FORMAT_MAJOR_COUNT, SFC_GET_FORMAT_MAJOR);
    std::vector<int> subtypes = listed_codes(SFC_GET_FORMAT_SUBTYPE_COUNT, SFC_GET_FORMAT_SUBTYPE);
    auto has_major = [&](int m) { return std::find(majors.begin(), majors.end(), m) != majors.end(); };
    auto has_subtype = [&](int s) { return std::find(subtypes.begin(), subtypes.end(), s) != subtypes.end(); };
    std::vector<std::string> out;
    if (has_major(SF_FORMAT_WAV)) out.push_back("wav");
    if (has_major(SF_FORMAT_FLAC)) out.push_back("flac");
    if (has_major(SF_FORMAT_OGG) && has_subtype(SF_FORMAT_VORBIS)) out.push_back("vorbis");
    if (has_major(SF_FORMAT_OGG) && has_subtype(kSubtypeOpus)) out.push_back("opus");
    if (has_major(kMajorMpeg) && has_subtype(kSubtypeMpegL3)) out.push_back("mp3");
    if (has_major(SF_FORMAT_WAV) && has_subtype(SF_FORMAT_ULAW)) out.push_back("ulaw");
    if (has_major(SF_FORMAT_WAV) && has_subtype(SF_FORMAT_ALAW)) out.push_back("alaw");
    for (int major : {SF_FORMAT_AIFF, SF_FORMAT_AU, SF_FORMAT_CAF, SF_FORMAT_W64, SF_FORMAT_RF64})
      if (has_major(major)) out.push_back(read_format_name(major));
    return out;
  }();
  return names;
}

std::string join_format_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

std::string join_format_names(const std::vector<AudioFormat>& formats) {
  std::vector<std::string> names;
  for (AudioFormat format : formats) names.push_back(audio_format_name(format));
  return join_format_names(names);
}

}  // namespace higgs::audio
