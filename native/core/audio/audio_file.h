// Reading and writing encoded audio in memory (libsndfile). Reading gives mono float32 at the
// file's own rate, as librosa.load(mono=True, sr=None) does for the codec's front end
// (docs/model.md#reference-audio); resample() in audio/resample.h brings it to 24 kHz.
// Every problem with the input bytes is a HiggsError with code E_INPUT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audio/audio_format.h"

namespace higgs::audio {

struct ReadLimits {
  std::size_t max_bytes = 64u << 20;  // checked before anything is decoded
  double max_seconds = 600.0;         // checked from the header, and again while decoding
  double min_seconds = 0.0;           // and there must be at least one sample
};

struct DecodedAudio {
  std::vector<float> samples;  // mono: the average of the file's channels
  int sample_rate = 0;         // the file's rate, not resampled
  int channels = 0;            // channel count of the file before mixing
  std::string format;          // "wav", "flac", "vorbis", "opus", "mp3", "aiff", ...
  std::string codec;           // libsndfile's name of the sample encoding, e.g. "Signed 16 bit PCM"

  double duration_seconds() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

// Decodes an encoded file held in memory. Formats: see supported_read_formats().
DecodedAudio read_audio(const std::uint8_t* data, std::size_t size, const ReadLimits& limits = {});

// The same for a file on disk; the byte limit is checked on the file size before reading it.
DecodedAudio read_audio_file(const std::string& path, const ReadLimits& limits = {});

// Encodes mono samples. Samples are clipped to [-1, 1] (NaN becomes 0) first. PCM16 formats
// (wav, flac) scale by 32768 and saturate at 32767, the inverse of how read_audio scales them,
// so a write-read round trip is exact up to 16-bit rounding. Lossy codecs carry only some rates:
// see encoded_sample_rate(). An empty input or an unsupported format is E_INPUT.
std::vector<std::uint8_t> write_audio(const float* samples, std::size_t n, int sample_rate, AudioFormat format);

// The rate write_audio stores for `format`: sample_rate itself where the codec carries it,
// otherwise the input is resampled (soxr HQ) to this rate first. Opus: 8/12/16/24/48 kHz, other
// rates go to 48 kHz. MP3: the MPEG-1/2/2.5 rates, other rates go to the next higher one (48 kHz
// above that). wav, flac, vorbis: unchanged.
int encoded_sample_rate(int sample_rate, AudioFormat format);

}  // namespace higgs::audio
