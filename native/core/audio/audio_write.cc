// write_audio: the checks and preparation around encode_mono (format support, rate, clipping).
#include <algorithm>
#include <cmath>
#include <string>

#include "audio/audio_encode.h"
#include "audio/audio_file.h"
#include "audio/resample.h"
#include "errors.h"

namespace higgs::audio {
namespace {

constexpr int kOpusRates[] = {8000, 12000, 16000, 24000, 48000};
constexpr int kMpegRates[] = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};

// The rate itself if listed, else the next higher listed one, else the highest.
template <std::size_t N>
int carried_rate(int rate, const int (&rates)[N]) {
  for (int r : rates)
    if (r >= rate) return r;
  return rates[N - 1];
}

}  // namespace

int encoded_sample_rate(int sample_rate, AudioFormat format) {
  switch (format) {
    // Opus always codes at 48 kHz inside; the header's rate must be one its decoder outputs.
    case AudioFormat::Opus: {
      int r = carried_rate(sample_rate, kOpusRates);
      return r == sample_rate ? r : 48000;
    }
    case AudioFormat::Mp3: return carried_rate(sample_rate, kMpegRates);
    default: return sample_rate;
  }
}

std::vector<std::uint8_t> write_audio(const float* samples, std::size_t n, int sample_rate, AudioFormat format) {
  std::vector<AudioFormat> formats = supported_write_formats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end())
    throw HiggsError(ErrorCode::Input, std::string("output format ") + audio_format_name(format) +
                                           " is not available in this build (libsndfile can write: " +
                                           join_format_names(formats) + ")");
  if (n == 0 || !samples) throw HiggsError(ErrorCode::Input, "no audio samples to write");
  if (sample_rate < 1000 || sample_rate > 768000)
    throw HiggsError(ErrorCode::Input, "sample rate " + std::to_string(sample_rate) + " Hz is outside 1000..768000");

  // Clip before any conversion: integer codecs would wrap, lossy encoders distort past full scale.
  // Again after resampling, whose ringing can overshoot full scale a little.
  auto clip = [](std::vector<float>& v) { clip_samples(v.data(), v.size()); };
  std::vector<float> prepared(samples, samples + n);
  clip(prepared);
  int rate = encoded_sample_rate(sample_rate, format);
  if (rate != sample_rate) {
    prepared = resample(prepared.data(), prepared.size(), sample_rate, rate);
    clip(prepared);
  }
  return encode_mono(prepared.data(), prepared.size(), rate, format);
}

}  // namespace higgs::audio
