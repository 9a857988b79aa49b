#include "audio/stream_encoder.h"

#include <algorithm>
#include <string>

#include "audio/audio_encode.h"
#include "audio/audio_file.h"
#include "audio/memory_io.h"
#include "audio/ogg_pages.h"
#include "audio/sndfile_codes.h"
#include "errors.h"

namespace higgs::audio {
namespace {

constexpr std::size_t kBlock = 8192;  // samples handed to libsndfile per call
// Ogg pages leave at least this often (libsndfile's default holds a page for a second of audio).
constexpr double kOggPageLatencyMs = 100.0;
// libsndfile maps 0..1 onto the bitrates of the MPEG version (MPEG-2 at 24 kHz: 8..160 kb/s).
constexpr double kMp3CompressionLevel = 0.5;
constexpr std::uint32_t kUnknownSize = 0xFFFFFFFF;

bool is_riff(AudioFormat format) {
  return format == AudioFormat::Wav || format == AudioFormat::Ulaw || format == AudioFormat::Alaw;
}

HiggsError input_error(AudioFormat format, const std::string& what) {
  return HiggsError(ErrorCode::Input, std::string("streaming ") + audio_format_name(format) + ": " + what);
}

void put_u16(std::vector<std::uint8_t>& out, unsigned v) {
  out.push_back(v & 0xFF);
  out.push_back((v >> 8) & 0xFF);
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back((v >> (8 * i)) & 0xFF);
}
void put_tag(std::vector<std::uint8_t>& out, const char* tag) { out.insert(out.end(), tag, tag + 4); }

// RIFF/WAVE with the RIFF and data sizes unknown (0xFFFFFFFF, what a live stream's header says;
// readers take the samples up to the end of the bytes).
std::vector<std::uint8_t> riff_stream_header(AudioFormat format, int rate) {
  const bool g711 = format != AudioFormat::Wav;
  const unsigned bytes_per_sample = g711 ? 1 : 2;
  std::vector<std::uint8_t> h;
  put_tag(h, "RIFF");
  put_u32(h, kUnknownSize);
  put_tag(h, "WAVE");
  put_tag(h, "fmt ");
  put_u32(h, 16);
  put_u16(h, format == AudioFormat::Ulaw ? 7 : format == AudioFormat::Alaw ? 6 : 1);  // WAVE_FORMAT_*
  put_u16(h, 1);                                                                       // mono
  put_u32(h, static_cast<std::uint32_t>(rate));
  put_u32(h, static_cast<std::uint32_t>(rate) * bytes_per_sample);
  put_u16(h, bytes_per_sample);
  put_u16(h, 8 * bytes_per_sample);
  put_tag(h, "data");
  put_u32(h, kUnknownSize);
  return h;
}

// The samples of a RIFF format without their container: libsndfile's RAW writes no header.
int raw_format(AudioFormat format) {
  int subtype = format == AudioFormat::Ulaw ? SF_FORMAT_ULAW : format == AudioFormat::Alaw ? SF_FORMAT_ALAW : SF_FORMAT_PCM_16;
  return SF_FORMAT_RAW | subtype | SF_ENDIAN_LITTLE;
}

}  // namespace

struct StreamEncoder::File {
  SoundFile handle;
};

StreamEncoder::StreamEncoder(AudioFormat format, int sample_rate, bool headerless)
    : format_(format), sink_(std::make_unique<StreamSink>()), file_(std::make_unique<File>()) {
  std::vector<AudioFormat> formats = supported_write_formats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end())
    throw input_error(format, "not available in this build (libsndfile can write: " + join_format_names(formats) + ")");
  if (headerless && !is_riff(format)) throw input_error(format, "only wav, ulaw and alaw samples stream without a header");
  if (sample_rate < 1000 || sample_rate > 768000)
    throw input_error(format, "sample rate " + std::to_string(sample_rate) + " Hz is outside 1000..768000");
  if (encoded_sample_rate(sample_rate, format) != sample_rate)
    throw input_error(format, "the codec does not carry " + std::to_string(sample_rate) + " Hz (a stream is not resampled)");

  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = is_riff(format) ? raw_format(format) : sndfile_write_format(format);
  file_->handle = open_stream_sink(*sink_, info);
  if (!file_->handle) throw HiggsError(ErrorCode::Internal, std::string("streaming ") + audio_format_name(format) + ": " + sf_strerror(nullptr));
  if (format == AudioFormat::Opus || format == AudioFormat::Vorbis) {
    double latency = kOggPageLatencyMs;  // older libsndfile lacks the command: its default then
    sf_command(file_->handle.get(), SFC_SET_OGG_PAGE_LATENCY_MS, &latency, sizeof(latency));
  }
  if (format == AudioFormat::Mp3) {
    // Constant bitrate: the streamed file has no Xing header (below), and a reader that measures
    // an MP3 from its first frame (mpg123, libsndfile) is right only when every frame is alike.
    int mode = SF_BITRATE_MODE_CONSTANT;
    sf_command(file_->handle.get(), SFC_SET_BITRATE_MODE, &mode, sizeof(mode));
    double level = kMp3CompressionLevel;
    sf_command(file_->handle.get(), SFC_SET_COMPRESSION_LEVEL, &level, sizeof(level));
  }
  if (is_riff(format) && !headerless) header_ = riff_stream_header(format, sample_rate);
}

StreamEncoder::~StreamEncoder() = default;

std::vector<std::uint8_t> StreamEncoder::push(const float* samples, std::size_t n) {
  if (finished_) throw input_error(format_, "push() after finish()");
  write(samples, n);
  return take();
}

std::vector<std::uint8_t> StreamEncoder::finish() {
  if (finished_) throw input_error(format_, "finish() called twice");
  finished_ = true;
  // Closing flushes what the encoder holds (a partial MP3 frame, FLAC block, Opus page).
  int closed = sf_close(file_->handle.release());
  if (sink_->failed) throw HiggsError(ErrorCode::OutOfMemory, "encoding audio: out of memory");
  if (closed != 0) throw HiggsError(ErrorCode::Internal, std::string("streaming ") + audio_format_name(format_) + ": " + sf_error_number(closed));
  return take();
}

void StreamEncoder::write(const float* samples, std::size_t n) {
  std::vector<float> clipped(kBlock);
  std::vector<short> pcm(is_pcm16(format_) ? kBlock : 0);
  for (std::size_t done = 0; done < n;) {
    std::size_t count = std::min(kBlock, n - done);
    std::copy(samples + done, samples + done + count, clipped.begin());
    clip_samples(clipped.data(), count);
    sf_count_t written;
    if (is_pcm16(format_)) {
      to_pcm16(clipped.data(), count, pcm.data());
      written = sf_writef_short(file_->handle.get(), pcm.data(), static_cast<sf_count_t>(count));
    } else {
      written = sf_writef_float(file_->handle.get(), clipped.data(), static_cast<sf_count_t>(count));
    }
    if (written != static_cast<sf_count_t>(count)) {
      if (sink_->failed) throw HiggsError(ErrorCode::OutOfMemory, "encoding audio: out of memory");
      throw HiggsError(ErrorCode::Internal, std::string("streaming ") + audio_format_name(format_) + ": " + sf_strerror(file_->handle.get()));
    }
    done += count;
  }
}

std::vector<std::uint8_t> StreamEncoder::take() {
  std::vector<std::uint8_t> bytes = sink_->take();
  // libsndfile writes each Ogg page whole within one call, so a take holds whole pages only.
  if (format_ == AudioFormat::Opus || format_ == AudioFormat::Vorbis) set_ogg_serial(bytes);
  if (header_.empty()) return bytes;
  header_.insert(header_.end(), bytes.begin(), bytes.end());
  std::vector<std::uint8_t> out;
  out.swap(header_);
  return out;
}

}  // namespace higgs::audio
