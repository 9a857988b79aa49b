#include "audio/sndfile_codes.h"

namespace higgs::audio {

int sndfile_write_format(AudioFormat format) {
  switch (format) {
    case AudioFormat::Wav: return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    case AudioFormat::Flac: return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    case AudioFormat::Mp3: return kMajorMpeg | kSubtypeMpegL3;
    case AudioFormat::Opus: return SF_FORMAT_OGG | kSubtypeOpus;
    case AudioFormat::Vorbis: return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    case AudioFormat::Ulaw: return SF_FORMAT_WAV | SF_FORMAT_ULAW;
    case AudioFormat::Alaw: return SF_FORMAT_WAV | SF_FORMAT_ALAW;
  }
  return 0;
}

// Accepted on read: the formats the service deals in plus the common PCM containers. libsndfile
// opens many more (Matlab, Amiga IFF, sampler dumps...), which no caller has reason to send.
std::string read_format_name(int format) {
  int major = format & SF_FORMAT_TYPEMASK;
  int subtype = format & SF_FORMAT_SUBMASK;
  switch (major) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
      // G.711 in a WAVE container is reported as its codec, as write_audio names it.
      if (subtype == SF_FORMAT_ULAW) return "ulaw";
      if (subtype == SF_FORMAT_ALAW) return "alaw";
      return "wav";
    case SF_FORMAT_RF64: return "rf64";
    case SF_FORMAT_W64: return "w64";
    case SF_FORMAT_AIFF: return "aiff";
    case SF_FORMAT_AU: return "au";
    case SF_FORMAT_CAF: return "caf";
    case SF_FORMAT_FLAC: return "flac";
    case SF_FORMAT_OGG:
      if (subtype == SF_FORMAT_VORBIS) return "vorbis";
      if (subtype == kSubtypeOpus) return "opus";
      return "";
    case kMajorMpeg:
      if (subtype == kSubtypeMpegL3) return "mp3";
      return subtype == kSubtypeMpegL2 ? "mp2" : subtype == kSubtypeMpegL1 ? "mp1" : "";
    default: return "";
  }
}

namespace {
std::string describe(int code) {
  SF_FORMAT_INFO info{};
  info.format = code;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof(info)) != 0 || !info.name) return "";
  return info.name;
}
}  // namespace

std::string major_description(int format) { return describe(format & SF_FORMAT_TYPEMASK); }
std::string subtype_description(int format) { return describe(format & SF_FORMAT_SUBMASK); }

}  // namespace higgs::audio
