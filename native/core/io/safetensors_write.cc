#include "io/safetensors_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "errors.h"

namespace higgs::io {
namespace {

HiggsError fs_error(const std::string& path, const std::string& what) {
  return HiggsError(ErrorCode::Internal, path + ": " + what + ": " + std::strerror(errno));
}

// Writes all of `bytes` at `offset` (pwrite may write less than asked).
void write_at(int fd, const std::string& path, const void* bytes, std::size_t size, std::uint64_t offset) {
  const auto* p = static_cast<const std::uint8_t*>(bytes);
  while (size > 0) {
    const auto n = ::pwrite(fd, p, std::min<std::size_t>(size, std::size_t{1} << 30), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw fs_error(path, "cannot write");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(std::string path, std::vector<TensorEntry> entries,
                                     std::map<std::string, std::string> metadata)
    : path_(std::move(path)), temp_path_(path_ + ".tmp") {
  // Larger elements first (stable: otherwise in the order given), so every tensor is aligned.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TensorEntry& a, const TensorEntry& b) { return dtype_size(a.dtype) > dtype_size(b.dtype); });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& e : entries) {
    if (e.name.empty() || e.name == "__metadata__" || slots_.count(e.name)) {
      throw HiggsError(ErrorCode::Input, path_ + ": tensor name '" + e.name + "' is empty, reserved or given twice");
    }
    std::uint64_t n = dtype_size(e.dtype);
    for (auto d : e.shape) {
      if (d < 0) throw HiggsError(ErrorCode::Input, path_ + ": tensor " + e.name + " has a negative dimension");
      n *= static_cast<std::uint64_t>(d);
    }
    slots_[e.name] = Slot{offset, offset + n, false};
    header[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  data_size_ = offset;
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  data_start_ = 8 + text.size();

  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw fs_error(temp_path_, "cannot create");
  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  write_at(fd_, temp_path_, length, 8, 0);
  write_at(fd_, temp_path_, text.data(), text.size(), 8);
  // The full size now: a file whose tensors are not all written yet reads as zeros there.
  if (::ftruncate(fd_, static_cast<off_t>(data_start_ + data_size_)) != 0) throw fs_error(temp_path_, "cannot size");
}

SafetensorsWriter::~SafetensorsWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void SafetensorsWriter::write(const std::string& name, const void* data, std::size_t nbytes) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw HiggsError(ErrorCode::Internal, path_ + ": tensor " + name + " is not in the header");
  Slot& slot = it->second;
  if (slot.written) throw HiggsError(ErrorCode::Internal, path_ + ": tensor " + name + " written twice");
  if (nbytes != slot.end - slot.begin) {
    throw HiggsError(ErrorCode::Internal, path_ + ": tensor " + name + " is " + std::to_string(nbytes) + " bytes, its header says " +
                                              std::to_string(slot.end - slot.begin));
  }
  write_at(fd_, temp_path_, data, nbytes, data_start_ + slot.begin);
  slot.written = true;
}

void SafetensorsWriter::commit() {
  for (const auto& [name, slot] : slots_) {
    if (!slot.written) throw HiggsError(ErrorCode::Internal, path_ + ": tensor " + name + " was never written");
  }
  if (::fsync(fd_) != 0) throw fs_error(temp_path_, "cannot flush");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw fs_error(temp_path_, "cannot close");
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) throw fs_error(path_, "cannot rename " + temp_path_ + " to it");
  committed_ = true;
}

}  // namespace higgs::io
