// Safetensors reading: 8-byte little-endian header length N, N bytes of JSON header, data area.
// Every header field is validated before a view is made, so a bad file gives an error that
// names the file and the tensor instead of a read outside the mapping.
#include "io/safetensors.h"

#include "io/posix_path.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "errors.h"

namespace higgs::io {

namespace {

using json = nlohmann::json;

struct DTypeInfo {
  const char* name;
  DType dtype;
  std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {"F32", DType::F32, 4}, {"F16", DType::F16, 2}, {"BF16", DType::BF16, 2}, {"F64", DType::F64, 8},
    {"I64", DType::I64, 8}, {"I32", DType::I32, 4}, {"I16", DType::I16, 2},   {"I8", DType::I8, 1},
    {"U8", DType::U8, 1},   {"BOOL", DType::BOOL, 1},
};

const DTypeInfo& dtype_info(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  return kDTypes[0];  // unreachable: every enumerator is in the table
}

bool parse_dtype(const std::string& name, DType* out) {
  for (const auto& info : kDTypes) {
    if (name == info.name) {
      *out = info.dtype;
      return true;
    }
  }
  return false;
}

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// a * b, or false when it does not fit in 64 bits (shapes come from untrusted headers).
bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

// Closes a file descriptor on every exit path of the MappedFile constructor.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text(int err) { return std::strerror(err); }

std::string tensor_error(const std::string& name, const std::string& what) {
  return "tensor '" + name + "': " + what;
}

// A non-negative JSON integer, or false (floats, negatives and other types are refused).
bool as_unsigned(const json& value, std::uint64_t* out) {
  if (!value.is_number_unsigned()) return false;
  *out = value.get<std::uint64_t>();
  return true;
}

std::vector<std::int64_t> parse_shape(const std::string& path, const std::string& name, const json& entry) {
  auto it = entry.find("shape");
  if (it == entry.end()) throw model_format_error(path, tensor_error(name, "missing field 'shape'"));
  if (!it->is_array()) throw model_format_error(path, tensor_error(name, "'shape' is not an array"));
  std::vector<std::int64_t> shape;
  for (const auto& dim : *it) {
    if (dim.is_number_integer() && !dim.is_number_unsigned()) {
      throw model_format_error(path, tensor_error(name, "negative dimension " + dim.dump() + " in shape"));
    }
    std::uint64_t d = 0;
    if (!as_unsigned(dim, &d)) {
      throw model_format_error(path, tensor_error(name, "shape entry " + dim.dump() + " is not an integer"));
    }
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw model_format_error(path, tensor_error(name, "dimension " + dim.dump() + " is too large"));
    }
    shape.push_back(static_cast<std::int64_t>(d));
  }
  return shape;
}

DType parse_entry_dtype(const std::string& path, const std::string& name, const json& entry) {
  auto it = entry.find("dtype");
  if (it == entry.end()) throw model_format_error(path, tensor_error(name, "missing field 'dtype'"));
  if (!it->is_string()) throw model_format_error(path, tensor_error(name, "'dtype' is not a string"));
  DType dtype;
  const auto text = it->get<std::string>();
  if (!parse_dtype(text, &dtype)) {
    throw model_format_error(path, "unsupported dtype " + text + " for tensor '" + name + "'");
  }
  return dtype;
}

// data_offsets [begin, end], relative to the data area, checked against its size.
std::pair<std::uint64_t, std::uint64_t> parse_offsets(const std::string& path, const std::string& name,
                                                      const json& entry, std::uint64_t data_size) {
  auto it = entry.find("data_offsets");
  if (it == entry.end()) throw model_format_error(path, tensor_error(name, "missing field 'data_offsets'"));
  std::uint64_t begin = 0, end = 0;
  if (!it->is_array() || it->size() != 2 || !as_unsigned((*it)[0], &begin) || !as_unsigned((*it)[1], &end)) {
    throw model_format_error(path, tensor_error(name, "'data_offsets' must be two non-negative integers, got " +
                                                          it->dump()));
  }
  if (end < begin) {
    throw model_format_error(path, tensor_error(name, "data_offsets end " + std::to_string(end) +
                                                          " is before begin " + std::to_string(begin)));
  }
  if (end > data_size) {
    throw model_format_error(path, tensor_error(name, "data_offsets [" + std::to_string(begin) + ", " +
                                                          std::to_string(end) + "] lie outside the data area of " +
                                                          std::to_string(data_size) + " bytes (truncated file?)"));
  }
  return {begin, end};
}

// The byte size that shape x dtype implies; errors on overflow.
std::uint64_t expected_nbytes(const std::string& path, const std::string& name, const std::vector<std::int64_t>& shape,
                              DType dtype) {
  std::uint64_t n = dtype_size(dtype);
  for (auto d : shape) {
    if (!checked_mul(n, static_cast<std::uint64_t>(d), &n)) {
      throw model_format_error(path, tensor_error(name, "shape is too large (byte size overflows)"));
    }
  }
  return n;
}

TensorView parse_entry(const std::shared_ptr<const MappedFile>& file, const std::string& name, const json& entry,
                       std::uint64_t data_start) {
  const std::string& path = file->path();
  if (!entry.is_object()) throw model_format_error(path, tensor_error(name, "header entry is not an object"));
  TensorView view;
  view.name = name;
  view.dtype = parse_entry_dtype(path, name, entry);
  view.shape = parse_shape(path, name, entry);
  const auto [begin, end] = parse_offsets(path, name, entry, file->size() - data_start);
  const std::uint64_t want = expected_nbytes(path, name, view.shape, view.dtype);
  if (want != end - begin) {
    throw model_format_error(path, tensor_error(name, "data_offsets span " + std::to_string(end - begin) +
                                                          " bytes but shape and dtype " + dtype_name(view.dtype) +
                                                          " need " + std::to_string(want)));
  }
  view.data = file->data() + data_start + begin;
  view.nbytes = static_cast<std::size_t>(want);
  view.file = file;
  return view;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& value) {
  if (!value.is_object()) throw model_format_error(path, "'__metadata__' is not an object");
  std::map<std::string, std::string> out;
  for (const auto& item : value.items()) {
    if (!item.value().is_string()) {
      throw model_format_error(path, "'__metadata__' value for key '" + item.key() + "' is not a string");
    }
    out[item.key()] = item.value().get<std::string>();
  }
  return out;
}

json parse_json_or_throw(const std::string& path, const char* begin, const char* end, const char* what) {
  try {
    return json::parse(begin, end);
  } catch (const json::exception& e) {
    throw model_format_error(path, std::string(what) + " is not valid JSON (" + e.what() + ")");
  }
}

// ---- checkpoint directories ----

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_format_error(path, "cannot open: " + errno_text(errno));
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) throw model_format_error(path, "read error");
  return os.str();
}

// Adds the tensors of one file; a key seen in an earlier file is an error (which copy wins?).
void merge_tensors(std::map<std::string, TensorView>& into, const SafetensorsFile& file) {
  for (const auto& [name, view] : file.tensors()) {
    auto [it, inserted] = into.emplace(name, view);
    if (!inserted) {
      throw model_format_error(file.path(), "tensor '" + name + "' is also in " + it->second.file->path() +
                                                " (a tensor may be in only one shard)");
    }
  }
}

// Shard names come from a downloaded JSON file: only plain names inside the directory are allowed.
void check_shard_name(const std::string& index_path, const std::string& tensor, const std::string& shard) {
  if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
      shard.find("..") != std::string::npos) {
    throw model_format_error(index_path, "tensor '" + tensor + "' maps to shard '" + shard +
                                             "': a shard must be a plain file name in the checkpoint directory");
  }
}

std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  const std::string text = read_text_file(index_path);
  const json index = parse_json_or_throw(index_path, text.data(), text.data() + text.size(), "index");
  if (!index.is_object()) throw model_format_error(index_path, "index is not a JSON object");
  auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object()) {
    throw model_format_error(index_path, "missing object 'weight_map' {tensor: shard file}");
  }
  std::map<std::string, std::string> map;
  for (const auto& item : it->items()) {
    if (!item.value().is_string()) {
      throw model_format_error(index_path, "weight_map entry for tensor '" + item.key() + "' is not a string");
    }
    check_shard_name(index_path, item.key(), item.value().get<std::string>());
    map[item.key()] = item.value().get<std::string>();
  }
  if (map.empty()) throw model_format_error(index_path, "weight_map lists no tensors");
  return map;
}

std::vector<std::string> safetensors_files_in(const std::string& dir) {
  std::vector<std::string> found;
  const std::string suffix = ".safetensors";
  for (const auto& name : list_directory(dir)) {
    const bool has_suffix = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (has_suffix && is_regular_file(join_path(dir, name))) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

const char* dtype_name(DType dtype) { return dtype_info(dtype).name; }
std::size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }

// ---- MappedFile ----

MappedFile::MappedFile(const std::string& path) : path_(path) {
  FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw model_format_error(path, "cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw model_format_error(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw model_format_error(path, "not a regular file");
  // mmap of 0 bytes fails with EINVAL; say what is actually wrong.
  if (st.st_size == 0) throw model_format_error(path, "file is empty (0 bytes): truncated or incomplete download");
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (p == MAP_FAILED) throw model_format_error(path, "cannot mmap: " + errno_text(errno));
  data_ = static_cast<const std::uint8_t*>(p);
  size_ = size;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

// ---- TensorView ----

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;  // cannot overflow: checked against the byte size on open
  return n;
}

std::string TensorView::describe() const {
  std::string out = name + " [";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  out += "] ";
  out += dtype_name(dtype);
  if (file) out += " in " + file->path();
  return out;
}

// ---- SafetensorsFile ----

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<const MappedFile>(path)) {
  const std::uint64_t size = file_->size();
  if (size < 8) {
    throw model_format_error(path, "truncated: " + std::to_string(size) +
                                       " bytes, too small for the 8-byte safetensors header length");
  }
  const std::uint64_t header_len = read_u64_le(file_->data());
  if (header_len > size - 8) {
    throw model_format_error(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                                       std::to_string(size) + " bytes): truncated or not a safetensors file");
  }
  const char* header_begin = reinterpret_cast<const char*>(file_->data() + 8);
  const json header = parse_json_or_throw(path, header_begin, header_begin + header_len, "header");
  if (!header.is_object()) throw model_format_error(path, "header is not a JSON object");
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      metadata_ = parse_metadata(path, item.value());
    } else {
      tensors_.emplace(item.key(), parse_entry(file_, item.key(), item.value(), 8 + header_len));
    }
  }
}

const std::string& SafetensorsFile::path() const { return file_->path(); }

// ---- Checkpoint ----

Checkpoint Checkpoint::open_file(const std::string& path) {
  Checkpoint ck;
  ck.files_.push_back(std::make_shared<SafetensorsFile>(path));
  merge_tensors(ck.tensors_, *ck.files_.back());
  return ck;
}

Checkpoint Checkpoint::open_dir(const std::string& dir) {
  if (!is_directory(dir)) throw model_format_error(dir, "checkpoint directory does not exist");
  const std::string index = join_path(dir, "model.safetensors.index.json");
  if (is_regular_file(index)) {
    Checkpoint ck;
    const auto weight_map = read_weight_map(index);
    std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;  // each shard opened once
    for (const auto& [tensor, shard] : weight_map) {
      auto& file = shards[shard];
      if (!file) file = std::make_shared<SafetensorsFile>(join_path(dir, shard));
      if (file->tensors().count(tensor) == 0) {
        throw model_format_error(index, "tensor '" + tensor + "' is listed for shard " + file->path() +
                                                     " but that shard does not contain it");
      }
    }
    for (const auto& [name, file] : shards) {
      ck.files_.push_back(file);
      merge_tensors(ck.tensors_, *file);
    }
    return ck;
  }
  const std::string single = join_path(dir, "model.safetensors");
  if (is_regular_file(single)) return open_file(single);
  const auto found = safetensors_files_in(dir);
  if (found.size() == 1) return open_file(join_path(dir, found[0]));
  throw model_format_error(dir, "no model.safetensors.index.json and no model.safetensors; expected exactly one "
                                "*.safetensors file otherwise, found " +
                                    std::to_string(found.size()) + (found.empty() ? "" : " (" + join_names(found) + ")"));
}

std::vector<std::string> Checkpoint::files() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path());
  return out;
}

std::size_t Checkpoint::total_bytes() const {
  std::size_t total = 0;
  for (const auto& [name, view] : tensors_) total += view.nbytes;
  return total;
}

}  // namespace higgs::io
