// Ogg pages made deterministic: libsndfile gives each Ogg stream a random serial number (from the
// clock), so the same samples would encode to different bytes on every call, against the rule
// that equal result hashes mean equal bytes. The serial is rewritten to a constant and each
// page's CRC recomputed. Internal to native/core/audio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace higgs::audio {

// The serial number every Ogg stream of this module carries ("HIGG").
constexpr std::uint32_t kOggSerial = 0x48494747;

// Rewrites the serial of every whole page in bytes[from..]; returns where the first page that is
// not whole yet starts (bytes.size() when all were whole). Bytes that are not an Ogg page are
// left alone, and so is everything after them.
std::size_t set_ogg_serial(std::vector<std::uint8_t>& bytes, std::size_t from = 0);

}  // namespace higgs::audio
