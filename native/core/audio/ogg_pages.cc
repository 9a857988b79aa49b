#include "audio/ogg_pages.h"

#include <array>
#include <cstring>

namespace higgs::audio {
namespace {

constexpr std::size_t kHeaderBytes = 27;  // up to the segment table
constexpr std::size_t kSerialAt = 14;
constexpr std::size_t kCrcAt = 22;
constexpr std::size_t kSegmentsAt = 26;

// Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no final xor.
const std::array<std::uint32_t, 256>& crc_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t r = i << 24;
      for (int bit = 0; bit < 8; ++bit) r = (r & 0x80000000u) ? (r << 1) ^ 0x04C11DB7u : r << 1;
      t[i] = r;
    }
    return t;
  }();
  return table;
}

void put_le32(std::uint8_t* at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

std::size_t set_ogg_serial(std::vector<std::uint8_t>& bytes, std::size_t from) {
  const auto& table = crc_table();
  std::size_t at = from;
  while (at + kHeaderBytes <= bytes.size()) {
    std::uint8_t* page = bytes.data() + at;
    if (std::memcmp(page, "OggS", 4) != 0) return bytes.size();
    const std::size_t segments = page[kSegmentsAt];
    if (at + kHeaderBytes + segments > bytes.size()) break;
    std::size_t body = 0;
    for (std::size_t i = 0; i < segments; ++i) body += page[kHeaderBytes + i];
    const std::size_t size = kHeaderBytes + segments + body;
    if (at + size > bytes.size()) break;
    put_le32(page + kSerialAt, kOggSerial);
    put_le32(page + kCrcAt, 0);
    std::uint32_t crc = 0;
    for (std::size_t i = 0; i < size; ++i) crc = (crc << 8) ^ table[((crc >> 24) ^ page[i]) & 0xFF];
    put_le32(page + kCrcAt, crc);
    at += size;
  }
  return at;
}

}  // namespace higgs::audio
