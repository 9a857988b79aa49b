// Writing one .safetensors file: the 8-byte little-endian header length, the JSON header (each
// tensor's dtype, shape and data_offsets, plus string __metadata__), padded with spaces to a
// multiple of 8, then the tensors' bytes with no holes. The layout is fixed up front from the
// tensors' dtypes and shapes, so tensors can be written in any order as they are computed (one
// at a time: nothing else is held). Written to "<path>.tmp", renamed to `path` by commit(): a
// reader sees no file or a whole one. No libtorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace higgs::io {

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
};

class SafetensorsWriter {
 public:
  // Lays the tensors out (larger elements first, so each starts aligned to its element size; names
  // unique, not "__metadata__") and writes the header. Errors (E_INPUT for a bad entry, E_INTERNAL
  // for the file system) name the path.
  SafetensorsWriter(std::string path, std::vector<TensorEntry> entries, std::map<std::string, std::string> metadata = {});
  ~SafetensorsWriter();  // removes the temporary file unless commit() ran
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // The bytes of tensor `name` (little-endian, row-major): exactly its shape x dtype size, once.
  void write(const std::string& name, const void* data, std::size_t nbytes);
  // Every tensor written: flushed to disk, then renamed to the final path.
  void commit();

  std::uint64_t file_size() const { return data_start_ + data_size_; }

 private:
  struct Slot {
    std::uint64_t begin = 0, end = 0;
    bool written = false;
  };
  std::string path_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
  std::uint64_t data_start_ = 0, data_size_ = 0;
  std::map<std::string, Slot> slots_;
};

}  // namespace higgs::io
