#include "audio/audio_encode.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "audio/memory_io.h"
#include "audio/ogg_pages.h"
#include "audio/sndfile_codes.h"
#include "errors.h"

namespace higgs::audio {
namespace {

constexpr std::size_t kBlock = 8192;  // samples handed to libsndfile per call

HiggsError encode_error(AudioFormat format, const std::string& what) {
  return HiggsError(ErrorCode::Internal, std::string("encoding ") + audio_format_name(format) + ": " + what);
}

}  // namespace

bool is_pcm16(AudioFormat format) {
  return format == AudioFormat::Wav || format == AudioFormat::Flac || format == AudioFormat::Ulaw ||
         format == AudioFormat::Alaw;
}

// libsndfile reads PCM16 back as s / 32768, so this makes write -> read exact to within half a
// step (libsndfile's own float -> short conversion scales by 32767, which would leave a gain
// error of 1/32768 on every sample).
void to_pcm16(const float* in, std::size_t n, short* out) {
  for (std::size_t i = 0; i < n; ++i) {
    long v = std::lrint(static_cast<double>(in[i]) * 32768.0);
    out[i] = static_cast<short>(std::clamp(v, -32768L, 32767L));
  }
}

void clip_samples(float* samples, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) samples[i] = std::isnan(samples[i]) ? 0.0f : std::clamp(samples[i], -1.0f, 1.0f);
}

std::vector<std::uint8_t> encode_mono(const float* samples, std::size_t n, int sample_rate, AudioFormat format) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = sndfile_write_format(format);
  if (!sf_format_check(&info)) throw encode_error(format, "libsndfile rejects this format at this rate");

  MemorySink sink;
  SoundFile file = open_memory_sink(sink, info);
  if (!file) throw encode_error(format, sf_strerror(nullptr));

  std::vector<short> pcm(is_pcm16(format) ? kBlock : 0);
  for (std::size_t done = 0; done < n;) {
    std::size_t count = std::min(kBlock, n - done);
    sf_count_t written;
    if (is_pcm16(format)) {
      to_pcm16(samples + done, count, pcm.data());
      written = sf_writef_short(file.get(), pcm.data(), static_cast<sf_count_t>(count));
    } else {
      written = sf_writef_float(file.get(), samples + done, static_cast<sf_count_t>(count));
    }
    if (written != static_cast<sf_count_t>(count)) {
      if (sink.failed) throw HiggsError(ErrorCode::OutOfMemory, "encoding audio: out of memory");
      throw encode_error(format, sf_strerror(file.get()));
    }
    done += count;
  }
  // Closing flushes the encoder and patches the header (sizes, FLAC STREAMINFO, Xing frame).
  int closed = sf_close(file.release());
  if (sink.failed) throw HiggsError(ErrorCode::OutOfMemory, "encoding audio: out of memory");
  if (closed != 0) throw encode_error(format, sf_error_number(closed));
  if (format == AudioFormat::Opus || format == AudioFormat::Vorbis) set_ogg_serial(sink.bytes);
  return std::move(sink.bytes);
}

}  // namespace higgs::audio
