#include "lm/int8_checkpoint.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "errors.h"
#include "io/posix_path.h"
#include "io/safetensors.h"
#include "io/safetensors_write.h"
#include "io/tensor_view_to_tensor.h"
#include "lm/weight_names.h"

namespace higgs::lm {
namespace {

using json = nlohmann::json;

const char* const kScheme = "symmetric per output channel";
const std::string kInt8Suffix = ".int8", kScaleSuffix = ".scale";

std::string short_id(const std::string& fingerprint) { return fingerprint.substr(0, 12); }

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm {};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Written to a temporary name and renamed: a reader sees no manifest or a whole one.
void write_json_file(const std::string& path, const json& value) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << value.dump(2) << "\n";
    out.flush();
    if (!out) throw HiggsError(ErrorCode::Internal, temp + ": cannot write");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw HiggsError(ErrorCode::Internal, path + ": cannot rename " + temp + " to it");
  }
}

// One canonical weight of the source, whole (split parts joined), on the CPU in its stored dtype.
at::Tensor whole_weight(const std::string& name, const WeightSource& source, const std::vector<std::int64_t>& shape) {
  std::vector<at::Tensor> parts;
  for (const auto& part : source.parts) parts.push_back(io::float_tensor_from_view(part));
  at::Tensor whole = parts.size() == 1 ? parts[0] : at::cat(parts, 0);
  if (whole.sizes() != at::IntArrayRef(shape)) {
    throw model_format_error(source.parts.front().file->path(), "tensor " + name + " has shape " + io::shape_text(whole.sizes()) +
                                                                    ", expected " + io::shape_text(shape));
  }
  return whole.contiguous();
}

void write_tensor(io::SafetensorsWriter& writer, const std::string& name, const at::Tensor& t) {
  const at::Tensor c = t.cpu().contiguous();
  writer.write(name, c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
}

const char* checkpoint_format_name(CheckpointFormat format) {
  return format == CheckpointFormat::Original ? "original" : "transformers";
}

// The file of a quantized directory, its metadata checked against the manifest.
io::SafetensorsFile open_int8_file(const Int8Manifest& m) {
  io::SafetensorsFile file(m.weights_path);
  const auto& meta = file.metadata();
  auto field = [&](const char* key) {
    auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };
  if (field("format") != kInt8Format || field("version") != std::to_string(kInt8FormatVersion)) {
    throw model_format_error(m.weights_path, "is not a higgs-audio int8 file of version " + std::to_string(kInt8FormatVersion) +
                                                 " (its metadata says format '" + field("format") + "', version '" +
                                                 field("version") + "'): run 'higgs-audio quantize' on the source again");
  }
  if (field("source_fingerprint") != m.source_fingerprint) {
    throw model_format_error(m.weights_path, "was quantized from checkpoint " + short_id(field("source_fingerprint")) +
                                                 " but " + kInt8ManifestFile + " names checkpoint " +
                                                 short_id(m.source_fingerprint) +
                                                 ": the file is stale or foreign to its manifest; run 'higgs-audio quantize' on the source again");
  }
  return file;
}

// The tensors of a quantized file checked against config: each canonical weight once, as a dense
// tensor or (projections) an int8 weight with its scales. `use` gets each in canonical order.
template <typename Dense, typename Int8>
void walk_int8_file(const io::SafetensorsFile& file, const HiggsConfig& c, Dense dense, Int8 int8) {
  const auto& tensors = file.tensors();
  const bool text_head = tensors.count("text_lm_head.weight" + kInt8Suffix) > 0;
  std::set<std::string> used;
  auto find = [&](const std::string& key, io::DType dtype, const std::vector<std::int64_t>& shape, bool any_float) {
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      throw model_format_error(file.path(), "missing tensor " + key + " (its config.json wants " + std::to_string(c.num_layers) +
                                                " layers of this shape)");
    }
    const auto& v = it->second;
    const bool dtype_ok = any_float ? io::is_float_dtype(v.dtype) : v.dtype == dtype;
    if (!dtype_ok || v.shape != shape) {
      throw model_format_error(file.path(), "tensor " + v.describe() + " does not match config.json: expected " +
                                                io::shape_text(shape) + " " + (any_float ? "floating point" : io::dtype_name(dtype)));
    }
    used.insert(key);
    return v;
  };
  for (const auto& [name, shape] : canonical_shapes(c, text_head)) {
    if (is_projection_weight(name)) {
      const auto w = find(name + kInt8Suffix, io::DType::I8, shape, false);
      const auto s = find(name + kScaleSuffix, io::DType::BF16, {shape.front()}, false);
      int8(name, w, s);
    } else {
      dense(name, find(name, io::DType::F32, shape, true));
    }
  }
  for (const auto& [key, view] : tensors) {
    if (!used.count(key)) {
      throw model_format_error(file.path(), "unexpected tensor " + key + " (config.json has " + std::to_string(c.num_layers) + " layers)");
    }
  }
}

}  // namespace

QuantizeResult quantize_checkpoint(const std::string& model_dir, const std::string& out_dir, const QuantizeOptions& o,
                                   const LoadProgressFn& progress) {
  if (o.source_fingerprint.empty()) throw HiggsError(ErrorCode::Input, "quantize: the source fingerprint is empty");
  if (!io::is_directory(out_dir)) throw HiggsError(ErrorCode::Input, out_dir + ": the output directory does not exist");
  if (read_int8_manifest(model_dir)) {
    throw HiggsError(ErrorCode::Input, model_dir + " is already quantized (it has " + kInt8ManifestFile + "): quantize its source checkpoint");
  }
  const auto config = load_config(model_dir);
  const auto checkpoint = io::Checkpoint::open_dir(model_dir);
  const auto sources = canonical_weights(checkpoint);
  const bool text_head = sources.count("text_lm_head.weight") > 0;
  const auto shapes = canonical_shapes(config, text_head);
  for (const auto& [name, source] : sources) {
    if (!shapes.count(name)) {
      throw model_format_error(source.parts.front().file->path(),
                               "unexpected tensor " + name + " (the config has " + std::to_string(config.num_layers) + " layers)");
    }
  }
  std::vector<io::TensorEntry> entries;
  std::set<std::string> stored_dtypes;
  for (const auto& [name, shape] : shapes) {
    auto it = sources.find(name);
    if (it == sources.end()) throw model_format_error(model_dir, "missing tensor " + name);
    stored_dtypes.insert(io::dtype_name(it->second.parts.front().dtype));
    if (is_projection_weight(name)) {
      entries.push_back({name + kInt8Suffix, io::DType::I8, shape});
      entries.push_back({name + kScaleSuffix, io::DType::BF16, {shape.front()}});
    } else {
      entries.push_back({name, it->second.parts.front().dtype, shape});
    }
  }
  QuantizeResult result;
  result.weights_path = io::join_path(out_dir, kInt8WeightsFile);
  result.manifest_path = io::join_path(out_dir, kInt8ManifestFile);
  // A manifest left by an earlier run would describe a file that is about to change.
  ::unlink(result.manifest_path.c_str());
  io::SafetensorsWriter writer(result.weights_path, entries,
                               {{"format", kInt8Format},
                                {"version", std::to_string(kInt8FormatVersion)},
                                {"source_fingerprint", o.source_fingerprint}});
  const auto total = static_cast<std::int64_t>(shapes.size());
  for (const auto& [name, shape] : shapes) {
    c10::InferenceMode guard;
    const at::Tensor whole = whole_weight(name, sources.at(name), shape);
    if (is_projection_weight(name)) {
      const auto q = quantize_int8(whole);
      write_tensor(writer, name + kInt8Suffix, q.weight);
      write_tensor(writer, name + kScaleSuffix, q.scales);
    } else {
      write_tensor(writer, name, whole);
    }
    ++result.tensors;
    if (progress) progress(result.tensors, total);
  }
  writer.commit();
  result.bytes = static_cast<std::int64_t>(file_size(result.weights_path));

  json files = json::array();
  for (const auto& path : checkpoint.files()) files.push_back({{"path", base_name(path)}, {"bytes", file_size(path)}});
  std::string dtype = stored_dtypes.size() == 1 ? *stored_dtypes.begin() : "mixed";
  json manifest = {
      {"format", kInt8Format},
      {"version", kInt8FormatVersion},
      {"weights", {{"file", kInt8WeightsFile}, {"bytes", result.bytes}, {"tensors", result.tensors}}},
      {"source",
       {{"dir", model_dir}, {"fingerprint", o.source_fingerprint}, {"format", checkpoint_format_name(config.format)},
        {"dtype", dtype}, {"files", files}}},
      {"quantization",
       {{"scheme", kScheme}, {"weightDtype", "I8"}, {"scaleDtype", "BF16"}, {"quantizedFrom", dtype},
        {"names", "<weight>.int8 and <weight>.scale per projection, other weights as stored"}}},
      {"createdBy", o.created_by},
      {"createdAt", utc_now()},
  };
  write_json_file(result.manifest_path, manifest);
  return result;
}

std::optional<Int8Manifest> read_int8_manifest(const std::string& dir) {
  Int8Manifest m;
  m.dir = dir;
  m.manifest_path = io::join_path(dir, kInt8ManifestFile);
  m.weights_path = io::join_path(dir, kInt8WeightsFile);
  const bool has_manifest = io::is_regular_file(m.manifest_path), has_weights = io::is_regular_file(m.weights_path);
  if (!has_manifest && !has_weights) return std::nullopt;
  if (!has_manifest) {
    throw model_format_error(m.weights_path, std::string("has no ") + kInt8ManifestFile +
                                                 " beside it (an interrupted 'higgs-audio quantize'?): run it again");
  }
  std::ifstream in(m.manifest_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw model_format_error(m.manifest_path, "is not a JSON object");
  auto string_at = [&](const json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (string_at(doc, "format") != kInt8Format) {
    throw model_format_error(m.manifest_path, std::string("is not a higgs-audio int8 manifest (format '") + string_at(doc, "format") +
                                                  "', expected '" + kInt8Format + "')");
  }
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || version->get<std::int64_t>() != kInt8FormatVersion) {
    throw model_format_error(m.manifest_path, "is int8 format version " + (version == doc.end() ? std::string("(none)") : version->dump()) +
                                                  "; this build reads version " + std::to_string(kInt8FormatVersion) +
                                                  ": run 'higgs-audio quantize' on the source again");
  }
  const auto weights = doc.find("weights");
  const auto source = doc.find("source");
  if (weights == doc.end() || !weights->is_object() || source == doc.end() || !source->is_object() ||
      string_at(*weights, "file") != kInt8WeightsFile || !weights->contains("bytes") || !(*weights)["bytes"].is_number_unsigned() ||
      string_at(*source, "fingerprint").empty()) {
    throw model_format_error(m.manifest_path, std::string("lacks weights.file '") + kInt8WeightsFile +
                                                  "', weights.bytes or source.fingerprint");
  }
  m.weights_bytes = (*weights)["bytes"].get<std::uint64_t>();
  m.source_fingerprint = string_at(*source, "fingerprint");
  m.created_by = string_at(doc, "createdBy");
  if (!has_weights) throw model_format_error(m.manifest_path, std::string("names ") + kInt8WeightsFile + ", which is missing");
  const auto size = file_size(m.weights_path);
  if (size != m.weights_bytes) {
    throw model_format_error(m.weights_path, "is " + std::to_string(size) + " bytes but " + kInt8ManifestFile + " recorded " +
                                                 std::to_string(m.weights_bytes) +
                                                 ": the file is stale or foreign to its manifest; run 'higgs-audio quantize' on the source again");
  }
  return m;
}

void require_int8_format(const Int8Manifest& m, WeightFormat format) {
  if (format == WeightFormat::Int8) return;
  throw model_format_error(m.manifest_path, std::string("this directory holds int8 weights ('higgs-audio quantize' made it) and no dense ones: "
                                                        "load it with weights int8 (HIGGS_WEIGHTS=int8), or load its source checkpoint for ") +
                                                weight_format_name(format) + " weights");
}

HiggsWeights load_int8_checkpoint(const Int8Manifest& m, const HiggsConfig& c, const at::TensorOptions& options,
                                  const LoadProgressFn& progress) {
  const auto file = open_int8_file(m);
  std::map<std::string, at::Tensor> dense;
  std::map<std::string, Int8Weight> int8;
  std::int64_t done = 0;
  const auto total = static_cast<std::int64_t>(file.tensors().size());
  auto tick = [&](std::int64_t n) {
    done += n;
    if (progress) progress(done, total);
  };
  walk_int8_file(
      file, c,
      [&](const std::string& name, const io::TensorView& v) {
        dense[name] = io::float_tensor_from_view(v).to(options);
        tick(1);
      },
      [&](const std::string& name, const io::TensorView& w, const io::TensorView& s) {
        // Copied out of the mapping, also on the CPU: libtorch's CPU int8 kernel crashed (SIGSEGV)
        // on an int8 weight aliasing the read-only mapping, whose offsets are aligned to the
        // element size only. Nothing is held twice: the mapped pages are the page cache's.
        auto copy = [&](const io::TensorView& v) {
          const auto t = io::tensor_from_view(v);
          return t.to(t.options().device(options.device()), /*non_blocking=*/false, /*copy=*/true).contiguous();
        };
        int8[name] = Int8Weight{copy(w), copy(s)};
        tick(2);
      });
  HiggsWeights weights;
  weights.embed_tokens = dense.at("model.embed_tokens.weight");
  weights.embed_audio = dense.at("model.embed_audio_tokens.embed_audio_tokens.weight");
  weights.norm = dense.at("model.norm.weight");
  weights.int8_audio_head = int8.at("audio_lm_head.weight");
  if (int8.count("text_lm_head.weight")) weights.int8_text_head = int8.at("text_lm_head.weight");
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights l;
    l.int8_qkv = concat_int8({int8.at(p + "self_attn.q_proj.weight"), int8.at(p + "self_attn.k_proj.weight"),
                              int8.at(p + "self_attn.v_proj.weight")});
    l.int8_o = int8.at(p + "self_attn.o_proj.weight");
    l.int8_gate_up = concat_int8({int8.at(p + "mlp.gate_proj.weight"), int8.at(p + "mlp.up_proj.weight")});
    l.int8_down = int8.at(p + "mlp.down_proj.weight");
    l.int8_audio_gate_up = concat_int8({int8.at(p + "audio_mlp.gate_proj.weight"), int8.at(p + "audio_mlp.up_proj.weight")});
    l.int8_audio_down = int8.at(p + "audio_mlp.down_proj.weight");
    l.input_norm = dense.at(p + "input_layernorm.weight");
    l.post_attention_norm = dense.at(p + "post_attention_layernorm.weight");
    l.audio_input_norm = dense.at(p + "audio_input_layernorm.weight");
    l.audio_post_attention_norm = dense.at(p + "audio_post_attention_layernorm.weight");
    // The fused tensors are new: the separate ones are not kept.
    for (const char* part : {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "mlp.gate_proj.weight",
                             "mlp.up_proj.weight", "audio_mlp.gate_proj.weight", "audio_mlp.up_proj.weight"}) {
      int8.erase(p + part);
    }
    weights.layers.push_back(std::move(l));
  }
  return weights;
}

Int8CheckpointSummary summarize_int8_checkpoint(const Int8Manifest& m) {
  const auto file = open_int8_file(m);
  const auto config = load_config(m.dir);
  Int8CheckpointSummary s;
  walk_int8_file(
      file, config,
      [&](const std::string&, const io::TensorView& v) {
        s.parameter_count += v.numel();
        s.bytes += static_cast<std::int64_t>(v.nbytes);
        s.dense_dtypes.insert(io::dtype_name(v.dtype));
      },
      [&](const std::string&, const io::TensorView& w, const io::TensorView& sc) {
        s.parameter_count += w.numel();
        s.bytes += static_cast<std::int64_t>(w.nbytes + sc.nbytes);
      });
  return s;
}

}  // namespace higgs::lm
