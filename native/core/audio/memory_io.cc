#include "audio/memory_io.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

namespace higgs::audio {
namespace {

// Shared seek arithmetic: libsndfile expects fseek semantics and the new offset back, or -1.
sf_count_t seek_position(sf_count_t pos, sf_count_t size, sf_count_t offset, int whence) {
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? pos : whence == SEEK_END ? size : -1;
  if (base < 0) return -1;
  // Guard the addition: a corrupt header can ask for offsets near the sf_count_t limits.
  if (offset > 0 && base > INT64_MAX - offset) return -1;
  sf_count_t target = base + offset;
  return target < 0 ? -1 : target;
}

// ---- source ----

sf_count_t source_length(void* user) { return static_cast<MemorySource*>(user)->size; }

sf_count_t source_seek(sf_count_t offset, int whence, void* user) {
  auto* s = static_cast<MemorySource*>(user);
  sf_count_t target = seek_position(s->pos, s->size, offset, whence);
  if (target >= 0) s->pos = target;
  return target;
}

sf_count_t source_read(void* ptr, sf_count_t count, void* user) {
  auto* s = static_cast<MemorySource*>(user);
  if (count <= 0 || s->pos >= s->size) return 0;
  sf_count_t n = std::min(count, s->size - s->pos);
  std::memcpy(ptr, s->data + s->pos, static_cast<std::size_t>(n));
  s->pos += n;
  return n;
}

sf_count_t source_write(const void*, sf_count_t, void*) { return 0; }

sf_count_t source_tell(void* user) { return static_cast<MemorySource*>(user)->pos; }

// ---- sink ----

sf_count_t sink_length(void* user) { return static_cast<sf_count_t>(static_cast<MemorySink*>(user)->bytes.size()); }

sf_count_t sink_seek(sf_count_t offset, int whence, void* user) {
  auto* s = static_cast<MemorySink*>(user);
  sf_count_t target = seek_position(s->pos, static_cast<sf_count_t>(s->bytes.size()), offset, whence);
  if (target >= 0) s->pos = target;
  return target;
}

sf_count_t sink_read(void* ptr, sf_count_t count, void* user) {
  auto* s = static_cast<MemorySink*>(user);
  auto size = static_cast<sf_count_t>(s->bytes.size());
  if (count <= 0 || s->pos >= size) return 0;
  sf_count_t n = std::min(count, size - s->pos);
  std::memcpy(ptr, s->bytes.data() + s->pos, static_cast<std::size_t>(n));
  s->pos += n;
  return n;
}

sf_count_t sink_write(const void* ptr, sf_count_t count, void* user) {
  auto* s = static_cast<MemorySink*>(user);
  if (count <= 0) return 0;
  try {
    auto end = static_cast<std::size_t>(s->pos + count);
    if (end > s->bytes.size()) s->bytes.resize(end);  // a seek past the end leaves a zero gap
  } catch (const std::bad_alloc&) {
    s->failed = true;
    return 0;
  }
  std::memcpy(s->bytes.data() + s->pos, ptr, static_cast<std::size_t>(count));
  s->pos += count;
  return count;
}

sf_count_t sink_tell(void* user) { return static_cast<MemorySink*>(user)->pos; }

// ---- stream sink ----

sf_count_t stream_length(void* user) {
  auto* s = static_cast<StreamSink*>(user);
  return s->sent + static_cast<sf_count_t>(s->pending.size());
}

sf_count_t stream_seek(sf_count_t offset, int whence, void* user) {
  auto* s = static_cast<StreamSink*>(user);
  sf_count_t target = seek_position(s->pos, stream_length(user), offset, whence);
  if (target >= 0) s->pos = target;
  return target;
}

sf_count_t stream_read(void* ptr, sf_count_t count, void* user) {
  auto* s = static_cast<StreamSink*>(user);
  sf_count_t end = stream_length(user);
  if (count <= 0 || s->pos < s->sent || s->pos >= end) return 0;
  sf_count_t n = std::min(count, end - s->pos);
  std::memcpy(ptr, s->pending.data() + (s->pos - s->sent), static_cast<std::size_t>(n));
  s->pos += n;
  return n;
}

sf_count_t stream_write(const void* ptr, sf_count_t count, void* user) {
  auto* s = static_cast<StreamSink*>(user);
  if (count <= 0) return 0;
  const auto* bytes = static_cast<const std::uint8_t*>(ptr);
  sf_count_t skip = std::clamp<sf_count_t>(s->sent - s->pos, 0, count);  // already handed out
  s->dropped += skip;
  if (skip < count) {
    auto at = static_cast<std::size_t>(s->pos + skip - s->sent);
    auto n = static_cast<std::size_t>(count - skip);
    try {
      if (at + n > s->pending.size()) s->pending.resize(at + n);
    } catch (const std::bad_alloc&) {
      s->failed = true;
      return 0;
    }
    std::memcpy(s->pending.data() + at, bytes + skip, n);
  }
  s->pos += count;
  return count;
}

sf_count_t stream_tell(void* user) { return static_cast<StreamSink*>(user)->pos; }

SF_VIRTUAL_IO g_source_io = {source_length, source_seek, source_read, source_write, source_tell};
SF_VIRTUAL_IO g_sink_io = {sink_length, sink_seek, sink_read, sink_write, sink_tell};
SF_VIRTUAL_IO g_stream_io = {stream_length, stream_seek, stream_read, stream_write, stream_tell};

}  // namespace

SoundFile open_memory_source(MemorySource& source, SF_INFO& info) {
  info = SF_INFO{};  // format 0: let libsndfile detect the container from the bytes
  return SoundFile(sf_open_virtual(&g_source_io, SFM_READ, &info, &source));
}

SoundFile open_memory_sink(MemorySink& sink, SF_INFO& info) {
  return SoundFile(sf_open_virtual(&g_sink_io, SFM_WRITE, &info, &sink));
}

SoundFile open_stream_sink(StreamSink& sink, SF_INFO& info) {
  return SoundFile(sf_open_virtual(&g_stream_io, SFM_WRITE, &info, &sink));
}

std::vector<std::uint8_t> StreamSink::take() {
  std::vector<std::uint8_t> out;
  out.swap(pending);
  sent += static_cast<sf_count_t>(out.size());
  return out;
}

}  // namespace higgs::audio
