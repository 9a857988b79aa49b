#include "codec/codec_weights.h"

#include <set>
#include <sstream>

#include "codec/weight_norm.h"
#include "errors.h"
#include "io/posix_path.h"
#include "io/safetensors.h"
#include "io/tensor_view_to_tensor.h"

namespace higgs::codec {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The two ways torch saves a weight-normed weight: suffix of g, suffix of v.
struct NormSpelling {
  const char* g;
  const char* v;
};
constexpr NormSpelling kSpellings[] = {{".parametrizations.weight.original0", ".parametrizations.weight.original1"},
                                       {".weight_g", ".weight_v"}};

// One stored tensor (CPU, maybe aliasing the file) with the file it came from.
struct Stored {
  at::Tensor tensor;
  std::string file;
};

// Groups stored keys into final names: plain tensors pass through, (g, v) pairs fold to X.weight.
std::map<std::string, Stored> fold_all(const std::map<std::string, Stored>& stored, const TensorFilter& keep) {
  std::map<std::string, Stored> out;
  std::set<std::string> consumed;
  for (const auto& [key, entry] : stored) {
    for (const auto& spelling : kSpellings) {
      if (!ends_with(key, spelling.g)) continue;
      const std::string base = key.substr(0, key.size() - std::string(spelling.g).size());
      const std::string v_key = base + spelling.v;
      const auto v = stored.find(v_key);
      if (v == stored.end()) {
        throw model_format_error(entry.file, "tensor " + key + " (weight-norm magnitude) has no direction " + v_key);
      }
      consumed.insert(key);
      consumed.insert(v_key);
      const std::string name = base + ".weight";
      if (stored.count(name)) {
        throw model_format_error(entry.file, "tensor " + name + " is stored both plain and weight-normed");
      }
      if (keep && !keep(name)) continue;
      out[name] = {fold_weight_norm(entry.tensor, v->second.tensor, entry.file, name), entry.file};
    }
  }
  for (const auto& [key, entry] : stored) {
    if (consumed.count(key)) continue;
    for (const auto& spelling : kSpellings) {
      if (ends_with(key, spelling.v)) {
        throw model_format_error(entry.file, "tensor " + key + " (weight-norm direction) has no magnitude");
      }
    }
    if (keep && !keep(key)) continue;
    out[key] = entry;
  }
  return out;
}

bool has_safetensors(const std::string& dir) {
  for (const auto& name : io::list_directory(dir)) {
    if (ends_with(name, ".safetensors") || name == "model.safetensors.index.json") return true;
  }
  return false;
}

}  // namespace

bool is_decoder_tensor(const std::string& name) {
  if (starts_with(name, "acoustic_decoder.") || starts_with(name, "fc2.")) return true;
  if (!starts_with(name, "quantizer.quantizers.")) return false;
  return ends_with(name, ".codebook.embed") || ends_with(name, ".project_out.weight") ||
         ends_with(name, ".project_out.bias");
}

CodecWeights CodecWeights::load(const std::string& codec_dir, const at::TensorOptions& options,
                                const TensorFilter& keep) {
  if (io::is_directory(codec_dir) && !has_safetensors(codec_dir) &&
      io::is_regular_file(io::join_path(codec_dir, "model.pth"))) {
    throw model_format_error(codec_dir, "holds the original model.pth and no model.safetensors. " +
                                            codec_conversion_hint(codec_dir));
  }
  const auto checkpoint = io::Checkpoint::open_dir(codec_dir);
  std::map<std::string, Stored> stored;
  for (const auto& [name, view] : checkpoint.tensors()) stored[name] = {io::tensor_from_view(view), view.file->path()};
  const auto files = checkpoint.files();
  CodecWeights w;
  w.origin_ = files.size() == 1 ? files.front() : codec_dir;
  w.options_ = options;
  for (auto& [name, entry] : fold_all(stored, keep)) w.add(name, entry.tensor, entry.file);
  return w;
}

CodecWeights CodecWeights::from_tensors(const std::map<std::string, at::Tensor>& tensors, const std::string& origin,
                                        const at::TensorOptions& options) {
  std::map<std::string, Stored> stored;
  for (const auto& [name, tensor] : tensors) stored[name] = {tensor, origin};
  CodecWeights w;
  w.origin_ = origin;
  w.options_ = options;
  for (auto& [name, entry] : fold_all(stored, {})) w.add(name, entry.tensor, entry.file);
  return w;
}

void CodecWeights::add(const std::string& name, at::Tensor tensor, const std::string& file) {
  if (at::isFloatingType(tensor.scalar_type())) {
    tensor = tensor.to(options_);
  } else {
    tensor = tensor.to(options_.device());
  }
  tensors_[name] = tensor;
  files_[name] = file;
}

const at::Tensor& CodecWeights::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw model_format_error(origin_, "missing tensor " + name);
  return it->second;
}

const at::Tensor& CodecWeights::get(const std::string& name, at::IntArrayRef expected_shape) const {
  const at::Tensor& t = get(name);
  if (t.sizes() != expected_shape) {
    throw model_format_error(file_of(name), "tensor " + name + " has shape " + io::shape_text(t.sizes()) +
                                                ", expected " + io::shape_text(expected_shape));
  }
  return t;
}

std::vector<std::int64_t> CodecWeights::indices_under(const std::string& prefix) const {
  std::set<std::int64_t> found;
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && starts_with(it->first, prefix); ++it) {
    const std::string rest = it->first.substr(prefix.size());
    const auto dot = rest.find('.');
    const std::string digits = rest.substr(0, dot);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    found.insert(std::stoll(digits));
  }
  return {found.begin(), found.end()};
}

std::string CodecWeights::file_of(const std::string& name) const {
  const auto it = files_.find(name);
  return it == files_.end() ? origin_ : it->second;
}

void check_num_quantizers(const CodecConfig& config, const CodecWeights& weights) {
  const auto indices = weights.indices_under("quantizer.quantizers.");
  bool contiguous = static_cast<std::int64_t>(indices.size()) == config.num_quantizers;
  for (size_t i = 0; contiguous && i < indices.size(); ++i) contiguous = indices[i] == static_cast<std::int64_t>(i);
  if (contiguous) return;
  std::string have = indices.empty() ? "none" : "";
  for (size_t i = 0; i < indices.size(); ++i) have += (i ? ", " : "") + std::to_string(indices[i]);
  throw model_format_error(weights.origin(), "holds quantizer.quantizers.{" + have + "} but " + config.source +
                                                 " (target_bandwidths) gives num_quantizers = " +
                                                 std::to_string(config.num_quantizers));
}

}  // namespace higgs::codec
