// read_audio: decode in memory, enforce the limits, mix to mono.
#include "audio/audio_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include "audio/memory_io.h"
#include "audio/sndfile_codes.h"
#include "audio/truncation.h"
#include "errors.h"

namespace higgs::audio {
namespace {

constexpr int kMinRate = 1000;    // anything lower is a corrupt header, not audio
constexpr int kMaxRate = 768000;
constexpr sf_count_t kBlockSamples = 1 << 16;  // interleaved samples decoded per call

HiggsError input_error(const std::string& message) { return HiggsError(ErrorCode::Input, "audio input: " + message); }

std::string seconds(double s) {
  std::ostringstream os;
  os.precision(4);
  os << s << " s";
  return os.str();
}

// libsndfile's reason for refusing to open; its SF_ERR_SYSTEM text talks of files and pipes,
// which misleads for bytes in memory (it comes from reads past the end of a cut header).
std::string open_failure_reason() {
  switch (sf_error(nullptr)) {
    case SF_ERR_UNRECOGNISED_FORMAT: return "format not recognised";
    case SF_ERR_SYSTEM: return "damaged or truncated header";
    default: return std::string("libsndfile: ") + sf_strerror(nullptr);
  }
}

void check_limits(const ReadLimits& limits) {
  if (!(limits.max_seconds > 0.0) || !(limits.min_seconds >= 0.0) || limits.min_seconds > limits.max_seconds)
    throw HiggsError(ErrorCode::Input, "audio read limits need 0 <= min_seconds <= max_seconds and max_seconds > 0");
}

// Appends the average of each frame's channels; non-finite values (float files) are rejected.
void mix_to_mono(const float* interleaved, sf_count_t frames, int channels, std::vector<float>& out) {
  for (sf_count_t f = 0; f < frames; ++f) {
    const float* frame = interleaved + f * channels;
    double sum = 0.0;
    for (int c = 0; c < channels; ++c) sum += frame[c];
    if (!std::isfinite(sum)) throw input_error("the file holds non-finite sample values (NaN or infinity)");
    out.push_back(static_cast<float>(sum / channels));
  }
}

// Decodes block by block into `out`, stopping with E_INPUT as soon as the limit is passed.
void decode_mono(SNDFILE* file, const SF_INFO& info, sf_count_t max_frames, double max_seconds, bool header_length_known,
                 std::vector<float>& out) {
  sf_count_t block_frames = std::max<sf_count_t>(1, kBlockSamples / info.channels);
  std::vector<float> block(static_cast<std::size_t>(block_frames * info.channels));
  sf_count_t total = 0;
  for (;;) {
    sf_count_t got = sf_readf_float(file, block.data(), block_frames);
    // Checked after every call: the next call clears a decoder's error (e.g. FLAC lost sync).
    if (sf_error(file) != SF_ERR_NO_ERROR)
      throw input_error("damaged or truncated: decoding failed after " + seconds(double(total) / info.samplerate) +
                        " (libsndfile: " + sf_strerror(file) + ")");
    if (got <= 0) return;
    if (got > max_frames - total)
      throw input_error("longer than the limit of " + seconds(max_seconds) +
                        (header_length_known ? " although its header says " + seconds(double(info.frames) / info.samplerate)
                                             : std::string()));
    mix_to_mono(block.data(), got, info.channels, out);
    total += got;
  }
}

}  // namespace

DecodedAudio read_audio(const std::uint8_t* data, std::size_t size, const ReadLimits& limits) {
  check_limits(limits);
  if (!data || size == 0) throw input_error("empty (0 bytes)");
  if (size > limits.max_bytes)
    throw input_error(std::to_string(size) + " bytes is over the limit of " + std::to_string(limits.max_bytes) + " bytes");

  if (wav_data_truncated(data, size)) throw input_error("truncated: the WAV data chunk runs past the end of the file");

  MemorySource source{data, static_cast<sf_count_t>(size), 0};
  SF_INFO info;
  SoundFile file = open_memory_source(source, info);
  if (!file) throw input_error("not a readable audio file (" + open_failure_reason() + ")");

  DecodedAudio audio;
  audio.format = read_format_name(info.format);
  if (audio.format.empty())
    throw input_error("unsupported format \"" + major_description(info.format) + "\"; readable formats: " +
                      join_format_names(supported_read_formats()));
  audio.codec = subtype_description(info.format);
  if (info.channels < 1 || info.samplerate < kMinRate || info.samplerate > kMaxRate)
    throw input_error("implausible header: " + std::to_string(info.channels) + " channels at " +
                      std::to_string(info.samplerate) + " Hz");
  audio.sample_rate = info.samplerate;
  audio.channels = info.channels;

  // The header's length rejects long files before any decoding. It is only a claim (mp3 lengths
  // are estimates, a header can lie), so the decoded length is enforced again below.
  double max_frames_real = std::floor(limits.max_seconds * info.samplerate + 1e-6);  // may be inf
  sf_count_t max_frames = max_frames_real >= 9e18 ? SF_COUNT_MAX : static_cast<sf_count_t>(max_frames_real);
  bool header_length_known = info.frames > 0 && info.frames < SF_COUNT_MAX;
  if (header_length_known && info.frames > max_frames)
    throw input_error(seconds(double(info.frames) / info.samplerate) + " long (from its header), over the limit of " +
                      seconds(limits.max_seconds));
  // libsndfile finds an Ogg stream's length on its last page; without one the file was cut.
  bool ogg = audio.format == "vorbis" || audio.format == "opus";
  if (ogg && !header_length_known) throw input_error("truncated or damaged: the Ogg stream has no final page");
  if (mpeg_frame_cut(audio.format, data, size)) throw input_error("truncated: the file ends inside an MPEG audio frame");
  if (header_length_known) audio.samples.reserve(static_cast<std::size_t>(info.frames));

  decode_mono(file.get(), info, max_frames, limits.max_seconds, header_length_known, audio.samples);
  auto total = static_cast<sf_count_t>(audio.samples.size());
  auto expected = expected_length(audio.format, header_length_known ? info.frames : 0, info.samplerate, data, size);
  if (expected && total + expected->slack < expected->frames)
    throw input_error("truncated or partly unreadable: decoded " + seconds(double(total) / info.samplerate) +
                      " of the " + seconds(double(expected->frames) / info.samplerate) + " the file announces" + expected->hint);
  if (audio.samples.empty()) throw input_error("the file holds no audio samples");
  if (audio.duration_seconds() < limits.min_seconds)
    throw input_error(seconds(audio.duration_seconds()) + " long, shorter than the minimum of " +
                      seconds(limits.min_seconds));
  return audio;
}

DecodedAudio read_audio_file(const std::string& path, const ReadLimits& limits) {
  check_limits(limits);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) throw input_error("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(::fileno(file.get()), &st) != 0 || !S_ISREG(st.st_mode))
    throw input_error("'" + path + "' is not a regular file");
  auto size = static_cast<std::size_t>(st.st_size);
  if (size > limits.max_bytes)
    throw input_error("'" + path + "' has " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(limits.max_bytes) + " bytes");
  std::vector<std::uint8_t> bytes(size);
  if (size > 0 && std::fread(bytes.data(), 1, size, file.get()) != size)
    throw input_error("cannot read '" + path + "': " + std::strerror(errno));
  return read_audio(bytes.data(), bytes.size(), limits);
}

}  // namespace higgs::audio
