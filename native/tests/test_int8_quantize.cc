// Quantizing once (lm/int8_checkpoint.h, `higgs-audio quantize`): the goldens' checkpoint written
// as model.int8.safetensors + int8-manifest.json loads to exactly the weights, and the logits, of
// the in-memory quantization (fp32 and bf16); the engine plans, loads and logs it; a dense load of
// it, a manifest of another format or version, a file the manifest does not describe (stale or
// foreign), a file without a manifest and a config.json its tensors do not match are refused with
// E_MODEL_FORMAT naming the file.
#include <ATen/ATen.h>

#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "check.h"
#include "codec_test_util.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"
#include "io/safetensors.h"
#include "lm/higgs_lm.h"
#include "lm/higgs_weights.h"
#include "lm/int8_checkpoint.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

const std::string kFingerprint = std::string(64, 'a');

std::string source_dir() { return goldens_dir() + "/lm"; }

// A quantized copy of the goldens' checkpoint in a fresh directory (config.json copied, as the CLI does).
std::string quantized_copy(const std::string& tag, const std::string& fingerprint = kFingerprint) {
  const auto out = temp_dir(tag);
  write_text(out + "/config.json", read_text(source_dir() + "/config.json"));
  quantize_checkpoint(source_dir(), out, QuantizeOptions{fingerprint, "higgs-audio test"});
  return out;
}

bool same(const at::Tensor& a, const at::Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || (a.dtype() == b.dtype() && a.sizes() == b.sizes() && at::equal(a, b)));
}

bool same(const Int8Weight& a, const Int8Weight& b) { return same(a.weight, b.weight) && same(a.scales, b.scales); }

void check_same_weights(const HiggsWeights& a, const HiggsWeights& b) {
  HIGGS_CHECK(a.int8() && b.int8());
  HIGGS_CHECK(same(a.embed_tokens, b.embed_tokens) && same(a.embed_audio, b.embed_audio) && same(a.norm, b.norm));
  HIGGS_CHECK(same(a.int8_audio_head, b.int8_audio_head) && same(a.int8_text_head, b.int8_text_head));
  HIGGS_CHECK(a.layers.size() == b.layers.size());
  for (std::size_t i = 0; i < a.layers.size() && i < b.layers.size(); ++i) {
    const auto &x = a.layers[i], &y = b.layers[i];
    HIGGS_CHECK_MSG(same(x.int8_qkv, y.int8_qkv) && same(x.int8_o, y.int8_o) && same(x.int8_gate_up, y.int8_gate_up) &&
                        same(x.int8_down, y.int8_down) && same(x.int8_audio_gate_up, y.int8_audio_gate_up) &&
                        same(x.int8_audio_down, y.int8_audio_down),
                    "layer " << i);
    HIGGS_CHECK_MSG(same(x.input_norm, y.input_norm) && same(x.post_attention_norm, y.post_attention_norm) &&
                        same(x.audio_input_norm, y.audio_input_norm) && same(x.audio_post_attention_norm, y.audio_post_attention_norm),
                    "layer " << i);
    HIGGS_CHECK(!y.q_proj.defined() && !y.gate_proj.defined());
  }
  HIGGS_CHECK(a.bytes() == b.bytes() && a.parameter_count() == b.parameter_count());
}

std::uint64_t file_text_size(const std::string& dir) { return read_text(dir + "/" + kInt8WeightsFile).size(); }

LmInput mixed_prompt() {
  at::manual_seed(11);
  LmInput in;
  in.input_ids = at::randint(0, 128256, {24}, at::kLong);
  in.audio_mask = (at::arange(24, at::kLong) % 3) == 2;
  in.audio_codes = at::randint(0, 1024, {8, 8}, at::kLong);
  return in;
}

void edit_manifest(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto doc = nlohmann::json::parse(read_text(dir + "/" + kInt8ManifestFile));
  edit(doc);
  write_text(dir + "/" + kInt8ManifestFile, doc.dump(2));
}

HiggsWeights load_int8(const std::string& dir) {
  return load_weights(dir, load_config(dir), test_options(), {}, WeightFormat::Int8);
}

}  // namespace

HIGGS_TEST(a_quantized_file_loads_as_the_in_memory_quantization_bit_for_bit) {
  const auto dir = quantized_copy("quantized");
  const auto manifest = read_int8_manifest(dir);
  HIGGS_CHECK(manifest.has_value() && manifest->source_fingerprint == kFingerprint && manifest->created_by == "higgs-audio test");
  HIGGS_CHECK(!read_int8_manifest(source_dir()).has_value());
  // The manifest says what it was made from; the file's metadata names the same source.
  const auto doc = nlohmann::json::parse(read_text(dir + "/" + kInt8ManifestFile));
  HIGGS_CHECK(doc["format"] == "higgs-int8" && doc["version"] == 1 && doc["source"]["fingerprint"] == kFingerprint);
  HIGGS_CHECK(doc["source"]["dtype"] == "BF16" && doc["quantization"]["scheme"] == "symmetric per output channel");
  HIGGS_CHECK(doc["source"]["files"].size() == 1 && doc["source"]["files"][0]["path"] == "model.safetensors");
  io::SafetensorsFile file(dir + "/" + kInt8WeightsFile);
  HIGGS_CHECK(file.metadata().at("source_fingerprint") == kFingerprint);
  HIGGS_CHECK(file.tensors().at("model.layers.0.self_attn.q_proj.weight.int8").dtype == io::DType::I8);
  HIGGS_CHECK(file.tensors().at("model.layers.0.self_attn.q_proj.weight.scale").dtype == io::DType::BF16);
  HIGGS_CHECK(file.tensors().at("model.norm.weight").dtype == io::DType::BF16);  // as stored
  HIGGS_CHECK(doc["weights"]["bytes"] == file_text_size(dir));

  const auto config = load_config(source_dir());
  for (auto dtype : {at::kFloat, at::kBFloat16}) {
    auto options = test_options().dtype(dtype);
    auto in_memory = load_weights(source_dir(), config, options, {}, WeightFormat::Int8);
    std::int64_t last_done = 0, total = 0;
    auto saved = load_weights(dir, load_config(dir), options, [&](std::int64_t d, std::int64_t t) { last_done = d, total = t; },
                              WeightFormat::Int8);
    HIGGS_CHECK_MSG(total > 0 && last_done == total, last_done << " of " << total);
    check_same_weights(in_memory, saved);
    HiggsLM a(config, std::move(in_memory), 64, options), b(config, std::move(saved), 64, options);
    const auto in = mixed_prompt();
    auto la = a.forward(in, LogitsAt::All, false), lb = b.forward(in, LogitsAt::All, false);
    HIGGS_CHECK_MSG(at::equal(la.audio_logits, lb.audio_logits),
                    "dtype " << c10::toString(dtype));
  }
}

HIGGS_TEST(the_engine_plans_loads_and_logs_a_quantized_directory) {
  const auto dir = quantized_copy("engine");
  EngineOptions options;
  options.max_context = 128;
  options.weights = "int8";
  const auto planned = plan_load(dir, options), source_plan = plan_load(source_dir(), options);
  HIGGS_CHECK(planned.parameter_count == source_plan.parameter_count && planned.weight_bytes == source_plan.weight_bytes);
  HIGGS_CHECK_MSG(planned.checkpoint_dtype == "bfloat16", planned.checkpoint_dtype);

  std::vector<std::string> lines;
  std::mutex mutex;
  auto sink = [&](const std::string& level, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.push_back(level + ": " + message);
  };
  GenerateRequest request;
  request.input_ids = {128000, 882, 271, 128013};
  request.audio_mask = {0, 0, 0, 0};
  request.max_frames = 12;
  request.seed = 5;
  Engine saved(options, sink);
  const auto info = load_sync(saved, dir);
  HIGGS_CHECK(info.weight_format == "int8" && info.weight_bytes == planned.weight_bytes);
  Engine in_memory(options, sink);
  load_sync(in_memory, source_dir());
  HIGGS_CHECK(generate_sync(saved, request).codes == generate_sync(in_memory, request).codes);
  std::lock_guard<std::mutex> lock(mutex);
  HIGGS_CHECK_MSG(lines.size() == 2 && lines[0].find("info: int8 weights: reading " + dir + "/model.int8.safetensors") == 0 &&
                      lines[1].find("info: int8 weights: quantizing in memory (no int8 file in") == 0,
                  (lines.empty() ? std::string("(no lines)") : lines[0]));

  // Dense weights of an int8-only directory: refused by the plan and the load.
  options.weights = "dense";
  HIGGS_CHECK_THROWS(plan_load(dir, options), ErrorCode::ModelFormat, "holds int8 weights");
  Engine dense(options);
  HIGGS_CHECK_THROWS(load_sync(dense, dir), ErrorCode::ModelFormat, "load it with weights int8 (HIGGS_WEIGHTS=int8)");
}

HIGGS_TEST(stale_foreign_or_mismatched_int8_files_are_refused) {
  // A manifest of another format or version.
  auto dir = quantized_copy("version");
  edit_manifest(dir, [](nlohmann::json& m) { m["version"] = 2; });
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "int8-manifest.json: is int8 format version 2; this build reads version 1");
  edit_manifest(dir, [](nlohmann::json& m) { m["format"] = "other"; });
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "is not a higgs-audio int8 manifest (format 'other'");
  write_text(dir + "/" + kInt8ManifestFile, "{not json");
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "int8-manifest.json: is not a JSON object");

  // A manifest naming another source than the file (foreign), or another size (stale).
  dir = quantized_copy("foreign");
  edit_manifest(dir, [](nlohmann::json& m) { m["source"]["fingerprint"] = std::string(64, 'b'); });
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat,
                     "model.int8.safetensors: was quantized from checkpoint aaaaaaaaaaaa but int8-manifest.json names checkpoint bbbbbbbbbbbb");
  EngineOptions int8_options;
  int8_options.weights = "int8";
  HIGGS_CHECK_THROWS(plan_load(dir, int8_options), ErrorCode::ModelFormat, "stale or foreign");
  dir = quantized_copy("stale");
  edit_manifest(dir, [](nlohmann::json& m) { m["weights"]["bytes"] = m["weights"]["bytes"].get<std::uint64_t>() + 8; });
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "the file is stale or foreign to its manifest");
  // Another quantization's file put beside this manifest.
  const auto other = quantized_copy("other", std::string(64, 'c'));
  write_text(dir + "/" + kInt8WeightsFile, read_text(other + "/" + kInt8WeightsFile));
  edit_manifest(dir, [&](nlohmann::json& m) { m["weights"]["bytes"] = file_text_size(other); });
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "was quantized from checkpoint cccccccccccc");

  // A file without its manifest (an interrupted quantize).
  dir = quantized_copy("no-manifest");
  ::unlink((dir + "/" + kInt8ManifestFile).c_str());
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "model.int8.safetensors: has no int8-manifest.json beside it");

  // A config.json the file's tensors do not match: fewer layers, another width.
  dir = quantized_copy("config");
  auto config = nlohmann::json::parse(read_text(dir + "/config.json"));
  config["num_hidden_layers"] = 2;
  write_text(dir + "/config.json", config.dump());
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "unexpected tensor model.layers.2.");
  config["num_hidden_layers"] = 3;
  config["intermediate_size"] = 128;
  write_text(dir + "/config.json", config.dump());
  HIGGS_CHECK_THROWS(load_int8(dir), ErrorCode::ModelFormat, "does not match config.json: expected [64, 128] I8");

  // Quantizing a quantized directory, or into a missing one.
  dir = quantized_copy("twice");
  HIGGS_CHECK_THROWS(quantize_checkpoint(dir, temp_dir("twice-out"), QuantizeOptions{kFingerprint, ""}), ErrorCode::Input,
                     "is already quantized");
  HIGGS_CHECK_THROWS(quantize_checkpoint(source_dir(), dir + "/missing", QuantizeOptions{kFingerprint, ""}), ErrorCode::Input,
                     "the output directory does not exist");
}
