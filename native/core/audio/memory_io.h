// libsndfile on memory buffers (sf_open_virtual): decoding a caller's bytes without a temp file,
// and encoding into a growable byte vector. Internal to native/core/audio.
#pragma once

#include <sndfile.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace higgs::audio {

// Read-only view of encoded bytes; `pos` may sit past the end (reads there return 0 bytes).
struct MemorySource {
  const std::uint8_t* data = nullptr;
  sf_count_t size = 0;
  sf_count_t pos = 0;
};

// Growable output; encoders seek back to patch headers, so writes may land anywhere.
struct MemorySink {
  std::vector<std::uint8_t> bytes;
  sf_count_t pos = 0;
  bool failed = false;  // an allocation failed inside a callback (exceptions must not cross C)
};

// Output that leaves as it is written (StreamEncoder): take() hands out what was written so far,
// and those bytes are final. A later write into them (a header patched on close) is dropped and
// counted; a read of them finds nothing.
struct StreamSink {
  std::vector<std::uint8_t> pending;  // the bytes from `sent` on
  sf_count_t sent = 0;                // bytes handed out
  sf_count_t pos = 0;
  sf_count_t dropped = 0;
  bool failed = false;  // as MemorySink::failed

  std::vector<std::uint8_t> take();
};

struct SoundFileCloser {
  void operator()(SNDFILE* file) const {
    if (file) sf_close(file);
  }
};
using SoundFile = std::unique_ptr<SNDFILE, SoundFileCloser>;

// Open for reading; null on failure (then sf_strerror(nullptr) says why). `source` and `info`
// must outlive the handle; info is filled from the header.
SoundFile open_memory_source(MemorySource& source, SF_INFO& info);

// Open for writing with info.{samplerate,channels,format} set; null on failure.
SoundFile open_memory_sink(MemorySink& sink, SF_INFO& info);
SoundFile open_stream_sink(StreamSink& sink, SF_INFO& info);

}  // namespace higgs::audio
