// A quantized model directory, as `higgs-audio quantize MODEL_DIR --to DIR` writes it: the source's
// small files (config.json, tokenizer files: copied by the CLI), model.int8.safetensors and
// int8-manifest.json, written last. Loading DIR with WeightFormat::Int8 reads the int8 weights
// as they were saved instead of quantizing the checkpoint at every start; a directory without
// these files is quantized in memory as before.
//
// model.int8.safetensors holds every canonical weight (lm/weight_names.h) of the source:
//   <name>.int8   I8   [out, in]  and  <name>.scale  BF16 [out]   for each projection (q/k/v/o,
//                                  both MLPs' gate/up/down, audio_lm_head, text_lm_head), as
//                                  quantize_int8 makes them from the stored values (unfused; the
//                                  load fuses q/k/v and gate/up as quantize_layer does);
//   <name>        as stored (BF16, F32, F16)   for the rest: embeddings, norms.
// Its __metadata__ holds format "higgs-int8", version "1" and source_fingerprint.
// int8-manifest.json: {format, version, weights: {file, bytes, tensors}, source: {dir, fingerprint,
// format, dtype, files: [{path, bytes}]}, quantization: {scheme, weightDtype, scaleDtype,
// quantizedFrom}, createdBy, createdAt}.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "lm/higgs_weights.h"

namespace higgs::lm {

constexpr const char* kInt8WeightsFile = "model.int8.safetensors";
constexpr const char* kInt8ManifestFile = "int8-manifest.json";
constexpr const char* kInt8Format = "higgs-int8";
constexpr int kInt8FormatVersion = 1;

struct QuantizeOptions {
  std::string source_fingerprint;  // the source checkpoint's id (lib/service/model-fingerprint.ts); required
  std::string created_by;          // e.g. "higgs-audio 0.3.0"
};

struct QuantizeResult {
  std::string weights_path, manifest_path;
  std::int64_t tensors = 0;  // canonical weights written
  std::int64_t bytes = 0;    // size of model.int8.safetensors
};

// Reads model_dir's checkpoint (either format) one weight at a time, quantizes each projection
// with quantize_int8 (so the file holds exactly what a load with WeightFormat::Int8 computes when
// the engine's dtype holds the stored values exactly: float32, or the stored dtype) and writes
// out_dir/model.int8.safetensors, then out_dir/int8-manifest.json (each to a temporary name,
// renamed). out_dir must exist. progress: (weights done, weights total).
// E_INPUT: out_dir missing, model_dir itself quantized; E_MODEL_FORMAT: a bad checkpoint.
QuantizeResult quantize_checkpoint(const std::string& model_dir, const std::string& out_dir, const QuantizeOptions& options,
                                   const LoadProgressFn& progress = {});

struct Int8Manifest {
  std::string dir, manifest_path, weights_path;
  std::string source_fingerprint, created_by;
  std::uint64_t weights_bytes = 0;
};

// The manifest of a quantized directory; nullopt when model_dir has neither file. E_MODEL_FORMAT,
// naming the file, for an int8 file without a manifest, a manifest that is not one (format,
// version), or one that does not describe the file beside it (missing, another size).
std::optional<Int8Manifest> read_int8_manifest(const std::string& model_dir);

// E_MODEL_FORMAT unless `format` is Int8: a quantized directory holds no dense projections.
void require_int8_format(const Int8Manifest& manifest, WeightFormat format);

// The weights of a quantized directory (read_int8_manifest's), as load_weights gives them with
// WeightFormat::Int8: dense tensors converted to `options`, int8 weights and scales moved to its
// device. The file's metadata must name the manifest's source (else: a stale or foreign file),
// and its tensors must be those of `config` (names, shapes, dtypes): errors name file and tensor.
HiggsWeights load_int8_checkpoint(const Int8Manifest& manifest, const HiggsConfig& config,
                                  const at::TensorOptions& options, const LoadProgressFn& progress = {});

// What the load plan needs from a quantized directory's file (checked as load_int8_checkpoint does).
struct Int8CheckpointSummary {
  std::int64_t parameter_count = 0;  // int8 weights and dense tensors (not the scales)
  std::int64_t bytes = 0;            // every tensor as stored
  std::set<std::string> dense_dtypes;  // the safetensors names (BF16, F32, ...) of the dense tensors
};
Int8CheckpointSummary summarize_int8_checkpoint(const Int8Manifest& manifest);

}  // namespace higgs::lm
