// Tests of audio::StreamEncoder: every writable format streamed in uneven pieces is one valid file
// (read back by libsndfile and by sox's soxi or opusinfo, independent decoders), bytes leave
// before the end, PCM16 formats give a whole file's samples exactly, and what cannot stream is
// refused with E_INPUT.
#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <string>
#include <vector>

#include "audio/audio_file.h"
#include "audio/stream_encoder.h"
#include "audio_test_util.h"
#include "check.h"
#include "errors.h"

namespace {

using namespace higgs;
using namespace higgs::audio;
using namespace higgs::audio_test;

const char* extension(AudioFormat f) { return f == AudioFormat::Vorbis ? "ogg" : f == AudioFormat::Ulaw || f == AudioFormat::Alaw ? "wav" : audio_format_name(f); }

struct Streamed {
  Bytes bytes;
  Bytes first;                   // what the first push gave
  std::size_t before_finish = 0;  // bytes handed out before finish()
};

// `x` pushed in pieces of uneven sizes (a single sample among them), then finished.
Streamed stream(AudioFormat format, int rate, const std::vector<float>& x, bool headerless = false) {
  StreamEncoder encoder(format, rate, headerless);
  Streamed out;
  const std::size_t sizes[] = {1000, 1, 4801, 24000, 333};
  std::size_t done = 0;
  for (int i = 0; done < x.size(); ++i) {
    std::size_t n = std::min(sizes[i % 5], x.size() - done);
    Bytes piece = encoder.push(x.data() + done, n);
    if (i == 0) out.first = piece;
    out.bytes.insert(out.bytes.end(), piece.begin(), piece.end());
    done += n;
  }
  out.before_finish = out.bytes.size();
  Bytes tail = encoder.finish();
  out.bytes.insert(out.bytes.end(), tail.begin(), tail.end());
  return out;
}

std::vector<int> rates_of(AudioFormat f) {
  if (f == AudioFormat::Ulaw || f == AudioFormat::Alaw) return {8000, 24000};
  return {24000, 48000};
}

HIGGS_TEST(every_format_streams_as_one_valid_file) {
  std::string dir = higgs::test::temp_dir("stream-encode");
  for (AudioFormat format : supported_write_formats()) {
    for (int rate : rates_of(format)) {
      const char* name = audio_format_name(format);
      auto x = sine(440, rate, static_cast<std::size_t>(rate * 3));
      Streamed s = stream(format, rate, x);
      const double seconds = 3.0;
      // The header (or the first frames) leaves with the first piece; most bytes before the end.
      if (format != AudioFormat::Mp3) HIGGS_CHECK_MSG(!s.first.empty(), name << ": nothing left with the first piece");
      // (libsndfile's Vorbis writer holds its pages to the end; Vorbis is no output format of the service.)
      if (format != AudioFormat::Vorbis) HIGGS_CHECK_MSG(s.before_finish * 2 > s.bytes.size(), name << " at " << rate << ": only " << s.before_finish << " of " << s.bytes.size() << " bytes before finish()");

      std::string path = dir + "/stream" + std::to_string(rate) + "-" + name + "." + extension(format);
      save(path, s.bytes);
      if (std::getenv("HIGGS_KEEP_STREAMS")) save(std::string(std::getenv("HIGGS_KEEP_STREAMS")) + "/" + name + std::to_string(rate) + "." + extension(format), s.bytes);
      DecodedAudio a = read_audio(s.bytes.data(), s.bytes.size());
      HIGGS_CHECK_MSG(a.sample_rate == rate && a.channels == 1, name << ": " << a.sample_rate << " Hz, " << a.channels << " channels");
      double slack = format == AudioFormat::Mp3 ? 3 * 1152.0 / rate : 0.0;
      HIGGS_CHECK_MSG(a.duration_seconds() >= seconds - 0.001 && a.duration_seconds() <= seconds + slack + 0.001,
                      name << " at " << rate << ": " << a.duration_seconds() << " s");
      if (format == AudioFormat::Wav || format == AudioFormat::Flac) {
        // Exactly the samples of a whole file.
        Bytes whole = write_audio(x.data(), x.size(), rate, format);
        DecodedAudio w = read_audio(whole.data(), whole.size());
        HIGGS_CHECK_MSG(w.samples == a.samples, name << ": streamed samples differ from a whole file's");
      }

      if (format == AudioFormat::Opus) {
        Command c = run("opusinfo '" + path + "'");
        HIGGS_CHECK_MSG(c.status == 0 && c.output.find("WARNING") == std::string::npos, "opusinfo " << path << ": " << c.output);
      } else if (sox_handles(extension(format))) {
        bool ok = true;
        double r = soxi_number("-r", path, &ok), d = sox_decoded_seconds(path);
        HIGGS_CHECK_MSG(!ok || (r == rate && d >= seconds - 0.001 && d <= seconds + slack + 0.001), "sox " << path << ": " << r << " Hz, " << d << " s");
      }
    }
  }
}

// The result hash of a stream does not name the piece length: the bytes must not depend on it.
HIGGS_TEST(the_bytes_do_not_depend_on_how_the_samples_are_cut) {
  auto x = sine(523, 24000, 24000 * 2);
  for (AudioFormat format : supported_write_formats()) {
    // (libvorbis's analysis follows the cuts; Vorbis is no output format of the service.)
    if (format == AudioFormat::Vorbis) continue;
    Streamed pieces = stream(format, 24000, x);
    StreamEncoder whole(format, 24000);
    Bytes once = whole.push(x.data(), x.size());
    Bytes tail = whole.finish();
    once.insert(once.end(), tail.begin(), tail.end());
    HIGGS_CHECK_MSG(once == pieces.bytes, audio_format_name(format) << ": " << once.size() << " bytes in one push, " << pieces.bytes.size() << " in pieces");
  }
}

HIGGS_TEST(ogg_files_are_the_same_bytes_every_time) {
  auto x = sine(440, 24000, 24000);
  for (AudioFormat format : supported_write_formats()) {
    if (format != AudioFormat::Opus && format != AudioFormat::Vorbis) continue;
    Bytes a = write_audio(x.data(), x.size(), 24000, format), b = write_audio(x.data(), x.size(), 24000, format);
    HIGGS_CHECK_MSG(a == b, audio_format_name(format) << ": two encodes of the same samples differ");
    HIGGS_CHECK(a.size() > 18 && a[14] == 0x47 && a[17] == 0x48);  // the fixed serial, little-endian
  }
}

HIGGS_TEST(pcm_streams_the_samples_of_a_wav_file_without_its_header) {
  auto x = sine(300, 16000, 16000);
  Bytes whole = write_audio(x.data(), x.size(), 16000, AudioFormat::Wav);
  Streamed raw = stream(AudioFormat::Wav, 16000, x, true);
  HIGGS_CHECK(raw.bytes.size() == x.size() * 2);
  HIGGS_CHECK(whole.size() >= raw.bytes.size() && std::equal(raw.bytes.begin(), raw.bytes.end(), whole.end() - raw.bytes.size()));
  // The streamed WAV: a 44-byte header with unknown sizes, then the same samples.
  Streamed wav = stream(AudioFormat::Wav, 16000, x);
  HIGGS_CHECK(wav.bytes.size() == 44 + raw.bytes.size() && std::equal(raw.bytes.begin(), raw.bytes.end(), wav.bytes.begin() + 44));
  HIGGS_CHECK(wav.bytes[4] == 0xFF && wav.bytes[40] == 0xFF);
}

HIGGS_TEST(samples_are_clipped_as_a_whole_file_clips_them) {
  const float x[] = {2.0f, -3.0f, NAN, 0.5f};
  StreamEncoder encoder(AudioFormat::Wav, 8000, true);
  Bytes bytes = encoder.push(x, 4);
  Bytes tail = encoder.finish();
  HIGGS_CHECK(bytes.size() == 8 && tail.empty());
  const short expected[] = {32767, -32768, 0, 16384};
  for (int i = 0; i < 4 && bytes.size() == 8; ++i) {
    short v = static_cast<short>(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    HIGGS_CHECK_MSG(v == expected[i], "sample " << i << ": " << v);
  }
}

HIGGS_TEST(what_cannot_stream_is_refused) {
  const float x[] = {0.1f};
  HIGGS_CHECK_THROWS(StreamEncoder(AudioFormat::Flac, 24000, true), ErrorCode::Input, "without a header");
  HIGGS_CHECK_THROWS(StreamEncoder(AudioFormat::Wav, 10), ErrorCode::Input, "sample rate");
  for (AudioFormat f : supported_write_formats()) {
    if (f == AudioFormat::Opus) HIGGS_CHECK_THROWS(StreamEncoder(f, 44100), ErrorCode::Input, "does not carry 44100 Hz");
    if (f == AudioFormat::Mp3) HIGGS_CHECK_THROWS(StreamEncoder(f, 30000), ErrorCode::Input, "does not carry 30000 Hz");
  }
  StreamEncoder encoder(AudioFormat::Wav, 8000);
  encoder.push(x, 1);
  encoder.finish();
  HIGGS_CHECK_THROWS(encoder.push(x, 1), ErrorCode::Input, "after finish()");
  HIGGS_CHECK_THROWS(encoder.finish(), ErrorCode::Input, "twice");
}

}  // namespace
