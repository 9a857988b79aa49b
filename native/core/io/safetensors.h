// Memory-mapped safetensors reading (single file or sharded through model.safetensors.index.json).
// No libtorch here: a TensorView is a typed, bounds-checked window into a mapping; lm/ turns views
// into tensors (zero-copy where dtype and device allow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace higgs::io {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

// One read-only mapping of a whole file; shared by every view into it.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws HiggsError(E_MODEL_FORMAT) naming path
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

struct TensorView {
  std::string name;  // the key as stored in the file
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;  // points into `file`; valid while `file` lives
  std::size_t nbytes = 0;
  std::shared_ptr<const MappedFile> file;

  std::int64_t numel() const;
  std::string describe() const;  // "name [a, b] BF16 in /path/file.safetensors"
};

// All tensors of one .safetensors file. The header is fully validated on open: JSON syntax,
// header length within the file, known dtypes, data_offsets inside the data area and matching
// shape x dtype size. Errors name the file and the tensor.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Every tensor of a checkpoint directory: model.safetensors, or the shards listed in
// model.safetensors.index.json (each shard opened once; every indexed key must be present in the
// shard the index names). Keys are as stored; renaming happens in weight_names.h.
class Checkpoint {
 public:
  static Checkpoint open_dir(const std::string& dir);
  static Checkpoint open_file(const std::string& path);

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  std::vector<std::string> files() const;
  std::size_t total_bytes() const;  // sum of tensor nbytes

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace higgs::io
