// Reading checkpoints: safetensors files written byte by byte (native/core/io), and the LM's
// config.json of both formats and the key mapping of both checkpoint layouts (native/core/lm).
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "check.h"
#include "errors.h"
#include "io/safetensors.h"
#include "lm/checkpoint_config.h"
#include "lm/weight_names.h"

namespace {

using namespace higgs;
using namespace higgs::io;
using namespace higgs::lm;
using json = nlohmann::json;

// ---- building files ----

std::string le_u64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

template <class T>
std::string bytes_of(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(&out[0], values.data(), out.size());
  return out;
}

// The elements a view points at, copied out (the mapping need not be aligned for T).
template <class T>
std::vector<T> values_of(const TensorView& view) {
  std::vector<T> out(view.nbytes / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), view.data, view.nbytes);
  return out;
}

struct Spec {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::string data;
};

std::string join_dims(const std::vector<std::int64_t>& shape) {
  std::string out;
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out;
}

// A valid file: offsets assigned in order, header padded with spaces to 8 bytes as writers do.
std::string make_safetensors(const std::vector<Spec>& specs, const std::string& metadata = "") {
  std::string header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + metadata;
  std::size_t offset = 0;
  for (const auto& s : specs) {
    if (header.size() > 1) header += ",";
    header += "\"" + s.name + "\":{\"dtype\":\"" + s.dtype + "\",\"shape\":[" + join_dims(s.shape) +
              "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + s.data.size()) + "]}";
    offset += s.data.size();
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::string out = le_u64(header.size()) + header;
  for (const auto& s : specs) out += s.data;
  return out;
}

// A file with a hand-written header, for the malformed cases.
std::string raw_safetensors(const std::string& header, const std::string& data) {
  return le_u64(header.size()) + header + data;
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

Spec f32_spec(const std::string& name, std::vector<std::int64_t> shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> values(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  return {name, "F32", std::move(shape), bytes_of(values)};
}

// The message of the HiggsError(E_MODEL_FORMAT) that fn throws, or a marker saying what went wrong.
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const HiggsError& e) {
    if (e.code() != ErrorCode::ModelFormat) return std::string("WRONG CODE ") + error_code_name(e.code()) + ": " + e.what();
    return e.what();
  } catch (const std::exception& e) {
    return std::string("NOT A HiggsError: ") + e.what();
  }
  return "NO ERROR";
}

#define CHECK_HAS(msg, needle) \
  HIGGS_CHECK_MSG((msg).find(needle) != std::string::npos, "message '" << (msg) << "' lacks '" << (needle) << "'")

// Opens one file that must be refused with a message naming the file and `needle`.
void expect_file_error(const std::string& bytes, const std::string& needle, const std::string& tensor = "") {
  const std::string path = write_file(higgs::test::temp_dir("bad"), "model.safetensors", bytes);
  const std::string msg = error_of([&] { SafetensorsFile f(path); });
  CHECK_HAS(msg, path);
  CHECK_HAS(msg, needle);
  if (!tensor.empty()) CHECK_HAS(msg, "tensor '" + tensor + "'");
}

std::string index_json(const std::vector<std::pair<std::string, std::string>>& map) {
  json j;
  j["metadata"] = {{"total_size", 0}};
  j["weight_map"] = json::object();
  for (const auto& [t, s] : map) j["weight_map"][t] = s;
  return j.dump(2);
}

const char* kOriginalConfig = R"({
  "model_type": "higgs_audio",
  "text_config": {
    "model_type": "llama", "vocab_size": 128256, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "rms_norm_eps": 1e-05, "max_position_embeddings": 131072, "hidden_act": "silu",
    "attention_bias": false, "mlp_bias": false, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"}
  },
  "audio_adapter_type": "dual_ffn_fast_forward", "audio_dual_ffn_layers": [0, 1, 2],
  "audio_num_codebooks": 8, "audio_codebook_size": 1024, "audio_stream_bos_id": 1024,
  "audio_stream_eos_id": 1025, "audio_in_token_idx": 128015, "audio_out_token_idx": 128016,
  "audio_out_bos_token_id": 128013, "audio_eos_token_id": 128012, "pad_token_id": 128001,
  "use_delay_pattern": true, "skip_audio_tower": true, "use_audio_out_self_attention": false,
  "audio_decoder_proj_num_layers": 0, "use_audio_out_embed_projector": false, "audio_embed_avg": false
})";

const char* kTransformersConfig = R"({
  "model_type": "higgs_audio_v2", "vocab_size": 128256, "hidden_size": 64, "intermediate_size": 128,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32,
  "rms_norm_eps": 1e-05, "max_position_embeddings": 2048, "hidden_act": "silu",
  "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                      "low_freq_factor": 0.125, "high_freq_factor": 0.5,
                      "original_max_position_embeddings": 1024},
  "num_codebooks": 8, "codebook_size": 1026, "audio_token_id": 128016, "audio_bos_token_id": 128013,
  "audio_stream_bos_id": 1024, "audio_stream_eos_id": 1025, "pad_token_id": 128001,
  "eos_token_id": [128001, 128009]
})";

HiggsConfig parse(const json& j) { return parse_config_json(j.dump(), "/m/config.json"); }

// Mutates one copy of `base` and expects the config to be refused naming the file and `needle`.
void expect_config_error(const char* base, const std::function<void(json&)>& edit, const std::string& needle) {
  json j = json::parse(base);
  edit(j);
  const std::string msg = error_of([&] { parse(j); });
  CHECK_HAS(msg, "/m/config.json");
  CHECK_HAS(msg, needle);
}

}  // namespace

// ---- safetensors: good files ----

HIGGS_TEST(dtype_table) {
  HIGGS_CHECK(std::string(dtype_name(DType::BF16)) == "BF16");
  HIGGS_CHECK(std::string(dtype_name(DType::BOOL)) == "BOOL");
  HIGGS_CHECK(dtype_size(DType::F32) == 4 && dtype_size(DType::F16) == 2 && dtype_size(DType::BF16) == 2);
  HIGGS_CHECK(dtype_size(DType::F64) == 8 && dtype_size(DType::I64) == 8 && dtype_size(DType::I32) == 4);
  HIGGS_CHECK(dtype_size(DType::I16) == 2 && dtype_size(DType::I8) == 1 && dtype_size(DType::U8) == 1);
  HIGGS_CHECK(dtype_size(DType::BOOL) == 1);
}

HIGGS_TEST(single_file_roundtrip) {
  const std::string dir = higgs::test::temp_dir("single");
  const std::string path = write_file(dir, "model.safetensors", make_safetensors({
      {"a.f32", "F32", {2, 2}, bytes_of(std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f})},
      {"b.bf16", "BF16", {3}, bytes_of(std::vector<std::uint16_t>{0x3F80, 0xC000, 0x4040})},
      {"c.f16", "F16", {2, 1}, bytes_of(std::vector<std::uint16_t>{0x3C00, 0x3800})},
      {"d.i64", "I64", {2}, bytes_of(std::vector<std::int64_t>{-7, std::int64_t(1) << 40})},
      {"e.scalar", "I32", {}, bytes_of(std::vector<std::int32_t>{42})},
      {"f.empty", "F32", {0, 4}, ""},
  }));
  SafetensorsFile file(path);
  HIGGS_CHECK(file.path() == path);
  const auto& t = file.tensors();
  HIGGS_CHECK(t.size() == 6);
  HIGGS_CHECK(file.metadata().empty());

  const TensorView& a = t.at("a.f32");
  HIGGS_CHECK(a.dtype == DType::F32 && a.shape == (std::vector<std::int64_t>{2, 2}));
  HIGGS_CHECK(a.numel() == 4 && a.nbytes == 16);
  HIGGS_CHECK(values_of<float>(a) == (std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f}));
  const TensorView& b = t.at("b.bf16");
  HIGGS_CHECK(b.dtype == DType::BF16 && b.nbytes == 6);
  HIGGS_CHECK(values_of<std::uint16_t>(b) == (std::vector<std::uint16_t>{0x3F80, 0xC000, 0x4040}));
  const TensorView& c = t.at("c.f16");
  HIGGS_CHECK(c.dtype == DType::F16 && c.shape == (std::vector<std::int64_t>{2, 1}));
  HIGGS_CHECK(values_of<std::uint16_t>(c) == (std::vector<std::uint16_t>{0x3C00, 0x3800}));
  const TensorView& d = t.at("d.i64");
  HIGGS_CHECK(d.dtype == DType::I64 && values_of<std::int64_t>(d) == (std::vector<std::int64_t>{-7, std::int64_t(1) << 40}));
  HIGGS_CHECK(t.at("e.scalar").shape.empty() && t.at("e.scalar").numel() == 1 && t.at("e.scalar").nbytes == 4);
  HIGGS_CHECK(t.at("f.empty").numel() == 0 && t.at("f.empty").nbytes == 0);
  HIGGS_CHECK(a.file && a.file->path() == path);
  HIGGS_CHECK_MSG(b.describe() == "b.bf16 [3] BF16 in " + path, b.describe());

  const Checkpoint ck = Checkpoint::open_file(path);
  HIGGS_CHECK(ck.tensors().size() == 6 && ck.files() == std::vector<std::string>{path});
  HIGGS_CHECK(ck.total_bytes() == 16 + 6 + 4 + 16 + 4);
}

HIGGS_TEST(metadata_is_read) {
  const std::string path = write_file(higgs::test::temp_dir("meta"), "m.safetensors",
                                      make_safetensors({f32_spec("w", {2})}, R"({"format":"pt","note":"x y"})"));
  SafetensorsFile file(path);
  HIGGS_CHECK(file.metadata().size() == 2);
  HIGGS_CHECK(file.metadata().at("format") == "pt" && file.metadata().at("note") == "x y");
  HIGGS_CHECK(file.tensors().size() == 1 && file.tensors().count("__metadata__") == 0);
}

// ---- safetensors: malformed files ----

HIGGS_TEST(bad_prefix_and_header) {
  expect_file_error("", "empty");
  expect_file_error("abc", "truncated");
  expect_file_error(le_u64(1000) + "{}", "runs past the end");
  expect_file_error(le_u64(UINT64_MAX) + "{}", "runs past the end");  // must not wrap around
  expect_file_error(raw_safetensors("{\"w\": {", ""), "header is not valid JSON");
  expect_file_error(raw_safetensors("[1, 2]  ", ""), "header is not a JSON object");
  expect_file_error(raw_safetensors(R"({"__metadata__":{"k":1}})", ""), "__metadata__");
}

HIGGS_TEST(bad_tensor_entries) {
  const std::string d16(16, '\0');
  expect_file_error(raw_safetensors(R"({"w":5})", ""), "not an object", "w");
  expect_file_error(raw_safetensors(R"({"w":{"shape":[4],"data_offsets":[0,16]}})", d16), "missing field 'dtype'", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","data_offsets":[0,16]}})", d16), "missing field 'shape'", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[4]}})", d16), "missing field 'data_offsets'", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":7,"shape":[4],"data_offsets":[0,16]}})", d16), "not a string", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})", d16), "not an array", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", d16),
                    "negative dimension", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", d16),
                    "not an integer", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", d16),
                    "two non-negative integers", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[-1,16]}})", d16),
                    "two non-negative integers", "w");
}

HIGGS_TEST(bad_offsets_and_sizes) {
  const std::string d16(16, '\0');
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", d16),
                    "outside the data area", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[16,8]}})", d16),
                    "before begin", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", d16),
                    "need 12", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", d16),
                    "overflows", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,16]}})", d16),
                    "too large", "w");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]}})", d16),
                    "unsupported dtype F8_E4M3 for tensor 'w'");
  expect_file_error(raw_safetensors(R"({"w":{"dtype":"U16","shape":[8],"data_offsets":[0,16]}})", d16),
                    "unsupported dtype U16 for tensor 'w'");
  // A good tensor before a bad one does not hide the error; the bad one is named.
  expect_file_error(raw_safetensors(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                    R"("b":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}})", d16),
                    "outside the data area", "b");
}

HIGGS_TEST(missing_file_and_directory) {
  const std::string dir = higgs::test::temp_dir("missing");
  std::string msg = error_of([&] { SafetensorsFile f(dir + "/nope.safetensors"); });
  CHECK_HAS(msg, dir + "/nope.safetensors");
  CHECK_HAS(msg, "cannot open");
  msg = error_of([&] { SafetensorsFile f(dir); });
  CHECK_HAS(msg, "not a regular file");
}

// ---- checkpoint directories ----

HIGGS_TEST(sharded_dir_with_index) {
  const std::string dir = higgs::test::temp_dir("sharded");
  const std::string s1 = write_file(dir, "model-00001-of-00002.safetensors",
                                    make_safetensors({f32_spec("a", {2}), f32_spec("b", {3})}));
  const std::string s2 = write_file(dir, "model-00002-of-00002.safetensors", make_safetensors({f32_spec("c", {4})}));
  write_file(dir, "model.safetensors.index.json",
             index_json({{"a", "model-00001-of-00002.safetensors"},
                         {"b", "model-00001-of-00002.safetensors"},
                         {"c", "model-00002-of-00002.safetensors"}}));
  const Checkpoint ck = Checkpoint::open_dir(dir);
  HIGGS_CHECK(ck.tensors().size() == 3);
  HIGGS_CHECK(ck.files().size() == 2);
  HIGGS_CHECK(ck.tensors().at("a").file->path() == s1 && ck.tensors().at("c").file->path() == s2);
  HIGGS_CHECK(ck.tensors().at("a").file == ck.tensors().at("b").file);  // shard mapped once
  HIGGS_CHECK(ck.total_bytes() == (2 + 3 + 4) * 4);
}

HIGGS_TEST(bad_index) {
  const std::string dir = higgs::test::temp_dir("badindex");
  const std::string shard = "model-00001-of-00001.safetensors";
  const std::string shard_path = write_file(dir, shard, make_safetensors({f32_spec("a", {2}), f32_spec("b", {2})}));
  const std::string index = dir + "/model.safetensors.index.json";

  write_file(dir, "model.safetensors.index.json", index_json({{"a", shard}, {"ghost", shard}}));
  std::string msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, "ghost");
  CHECK_HAS(msg, shard_path);

  write_file(dir, "model.safetensors.index.json", index_json({{"a", "../" + shard}}));
  msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, index);
  CHECK_HAS(msg, "plain file name");

  write_file(dir, "model.safetensors.index.json", index_json({{"a", "/etc/passwd"}}));
  CHECK_HAS(error_of([&] { Checkpoint::open_dir(dir); }), "plain file name");

  write_file(dir, "model.safetensors.index.json", index_json({{"a", "absent.safetensors"}}));
  msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, dir + "/absent.safetensors");

  write_file(dir, "model.safetensors.index.json", "{\"weight_map\": ");
  msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, index);
  CHECK_HAS(msg, "not valid JSON");

  write_file(dir, "model.safetensors.index.json", R"({"metadata": {}})");
  CHECK_HAS(error_of([&] { Checkpoint::open_dir(dir); }), "weight_map");

  // The same tensor in two shards is ambiguous.
  const std::string other = "model-extra.safetensors";
  write_file(dir, other, make_safetensors({f32_spec("a", {2}), f32_spec("b", {2})}));
  write_file(dir, "model.safetensors.index.json", index_json({{"a", shard}, {"b", other}}));
  msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, "tensor 'a'");
  CHECK_HAS(msg, "only one shard");
}

HIGGS_TEST(dir_fallbacks) {
  const std::string dir = higgs::test::temp_dir("fallback");
  std::string msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, dir);
  CHECK_HAS(msg, "model.safetensors");
  CHECK_HAS(msg, "found 0");

  const std::string only = write_file(dir, "weights.safetensors", make_safetensors({f32_spec("x", {1})}));
  Checkpoint ck = Checkpoint::open_dir(dir);
  HIGGS_CHECK(ck.files() == std::vector<std::string>{only});

  write_file(dir, "more.safetensors", make_safetensors({f32_spec("y", {1})}));
  msg = error_of([&] { Checkpoint::open_dir(dir); });
  CHECK_HAS(msg, "found 2 (more.safetensors, weights.safetensors)");

  const std::string main = write_file(dir, "model.safetensors", make_safetensors({f32_spec("z", {1})}));
  ck = Checkpoint::open_dir(dir);
  HIGGS_CHECK(ck.files() == std::vector<std::string>{main} && ck.tensors().count("z") == 1);

  CHECK_HAS(error_of([&] { Checkpoint::open_dir(dir + "/absent"); }), "does not exist");
}

// ---- config.json ----

HIGGS_TEST(config_original_format) {
  const HiggsConfig c = parse(json::parse(kOriginalConfig));
  HIGGS_CHECK(c.format == CheckpointFormat::Original && c.source == "/m/config.json");
  HIGGS_CHECK(c.vocab_size == 128256 && c.hidden_size == 64 && c.intermediate_size == 128);
  HIGGS_CHECK(c.num_layers == 3 && c.num_heads == 4 && c.num_kv_heads == 2 && c.head_dim == 16);
  HIGGS_CHECK(c.rms_norm_eps == 1e-5 && c.max_position_embeddings == 131072);
  HIGGS_CHECK(c.rope.llama3 && c.rope.theta == 500000.0 && c.rope.factor == 32.0);
  HIGGS_CHECK(c.rope.low_freq_factor == 1.0 && c.rope.high_freq_factor == 4.0);
  HIGGS_CHECK(c.rope.original_max_position_embeddings == 8192.0);
  HIGGS_CHECK(c.num_codebooks == 8 && c.codebook_vocab == 1026);
  HIGGS_CHECK(c.audio_stream_bos_id == 1024 && c.audio_stream_eos_id == 1025);
  HIGGS_CHECK(c.audio_in_token_id == 128015 && c.audio_out_token_id == 128016);
  HIGGS_CHECK(c.audio_out_bos_token_id == 128013 && c.audio_eos_token_id == 128012 && c.pad_token_id == 128001);

  // Derived defaults and the older "type" key; absent optional flags are accepted.
  json j = json::parse(kOriginalConfig);
  j["text_config"].erase("num_key_value_heads");
  j["text_config"].erase("head_dim");
  j["text_config"]["rope_scaling"] = {{"type", "default"}};
  for (const char* k : {"use_delay_pattern", "skip_audio_tower", "audio_embed_avg"}) j.erase(k);
  const HiggsConfig d = parse(j);
  HIGGS_CHECK(d.num_kv_heads == 4 && d.head_dim == 16 && !d.rope.llama3);
  j["text_config"]["rope_scaling"] = nullptr;
  HIGGS_CHECK(!parse(j).rope.llama3);
}

HIGGS_TEST(config_original_refused_features) {
  const char* b = kOriginalConfig;
  expect_config_error(b, [](json& j) { j["audio_adapter_type"] = "stack"; }, "audio_adapter_type 'stack'");
  expect_config_error(b, [](json& j) { j.erase("audio_adapter_type"); }, "missing field audio_adapter_type");
  expect_config_error(b, [](json& j) { j["audio_dual_ffn_layers"] = {0, 2}; }, "layer 1 is missing");
  expect_config_error(b, [](json& j) { j["audio_dual_ffn_layers"] = {0, 1, 2, 3}; }, "outside 0..2");
  expect_config_error(b, [](json& j) { j.erase("audio_dual_ffn_layers"); }, "missing field audio_dual_ffn_layers");
  expect_config_error(b, [](json& j) { j["use_audio_out_self_attention"] = true; }, "use_audio_out_self_attention");
  expect_config_error(b, [](json& j) { j["audio_decoder_proj_num_layers"] = 2; }, "audio_decoder_proj_num_layers");
  expect_config_error(b, [](json& j) { j["use_audio_out_embed_projector"] = true; }, "use_audio_out_embed_projector");
  expect_config_error(b, [](json& j) { j["audio_embed_avg"] = true; }, "audio_embed_avg");
  expect_config_error(b, [](json& j) { j["skip_audio_tower"] = false; }, "skip_audio_tower");
  expect_config_error(b, [](json& j) { j["use_delay_pattern"] = false; }, "use_delay_pattern");
  expect_config_error(b, [](json& j) { j["use_rq_transformer"] = true; }, "use_rq_transformer");
  expect_config_error(b, [](json& j) { j["text_config"]["hidden_act"] = "gelu"; }, "text_config.hidden_act");
  expect_config_error(b, [](json& j) { j["text_config"]["attention_bias"] = true; }, "text_config.attention_bias");
  expect_config_error(b, [](json& j) { j["text_config"]["model_type"] = "qwen2"; }, "text_config.model_type");
  expect_config_error(b, [](json& j) { j["text_config"]["rope_scaling"]["rope_type"] = "yarn"; }, "'yarn'");
  expect_config_error(b, [](json& j) { j["text_config"]["rope_scaling"].erase("factor"); },
                      "missing field text_config.rope_scaling.factor");
  expect_config_error(b, [](json& j) { j["text_config"].erase("hidden_size"); }, "missing field text_config.hidden_size");
  expect_config_error(b, [](json& j) { j.erase("text_config"); }, "missing field text_config");
  expect_config_error(b, [](json& j) { j.erase("audio_num_codebooks"); }, "missing field audio_num_codebooks");
  expect_config_error(b, [](json& j) { j["text_config"]["hidden_size"] = "64"; }, "text_config.hidden_size must be an integer");
  expect_config_error(b, [](json& j) { j["use_delay_pattern"] = 2; }, "use_delay_pattern must be true or false (or 0 or 1)");
  expect_config_error(b, [](json& j) { j["use_delay_pattern"] = "yes"; }, "use_delay_pattern must be true or false");
  expect_config_error(b, [](json& j) { j["use_audio_out_self_attention"] = 1; }, "use_audio_out_self_attention is true");
  expect_config_error(b, [](json& j) { j["encode_audio_in_tokens"] = false; }, "encode_audio_in_tokens");
  expect_config_error(b, [](json& j) { j["encode_whisper_embed"] = 1; }, "encode_whisper_embed");
  expect_config_error(b, [](json& j) { j["audio_ffn_intermediate_size"] = 4096; }, "audio_ffn_intermediate_size is 4096");
  expect_config_error(b, [](json& j) { j["audio_ffn_hidden_size"] = 32; }, "audio_ffn_hidden_size is 32");
}

HIGGS_TEST(config_transformers_format) {
  const HiggsConfig c = parse(json::parse(kTransformersConfig));
  HIGGS_CHECK(c.format == CheckpointFormat::Transformers);
  HIGGS_CHECK(c.num_layers == 2 && c.num_kv_heads == 1 && c.head_dim == 32 && c.rms_norm_eps == 1e-5);
  HIGGS_CHECK(c.rope.llama3 && c.rope.theta == 500000.0 && c.rope.low_freq_factor == 0.125);
  HIGGS_CHECK(c.rope.high_freq_factor == 0.5 && c.rope.original_max_position_embeddings == 1024.0);
  HIGGS_CHECK(c.num_codebooks == 8 && c.codebook_vocab == 1026);
  HIGGS_CHECK(c.audio_out_token_id == 128016 && c.audio_out_bos_token_id == 128013);
  HIGGS_CHECK(c.eot_token_id == 128009 && c.pad_token_id == 128001);

  json j = json::parse(kTransformersConfig);
  j["codebook_size"] = 1024;  // counts bos/eos in this format, whatever its value
  j["audio_stream_bos_id"] = 1022;
  j["audio_stream_eos_id"] = 1023;
  j["eos_token_id"] = {128001, 128008};
  HiggsConfig d = parse(j);
  HIGGS_CHECK(d.codebook_vocab == 1024 && d.eot_token_id == 128001);
  j["eos_token_id"] = 128009;
  HIGGS_CHECK(parse(j).eot_token_id == 128009);

  // Older layout: rope_theta + rope_scaling at top level; no RoPE at all means the class default.
  j.erase("rope_parameters");
  j["rope_theta"] = 10000.0;
  HIGGS_CHECK(parse(j).rope.theta == 10000.0 && !parse(j).rope.llama3);
  j.erase("rope_theta");
  d = parse(j);
  HIGGS_CHECK(d.rope.llama3 && d.rope.theta == 500000.0 && d.rope.factor == 32.0);
}

HIGGS_TEST(config_transformers_refused) {
  const char* b = kTransformersConfig;
  expect_config_error(b, [](json& j) { j["hidden_act"] = "gelu"; }, "hidden_act is 'gelu'");
  expect_config_error(b, [](json& j) { j["mlp_bias"] = true; }, "mlp_bias");
  expect_config_error(b, [](json& j) { j["attention_bias"] = true; }, "attention_bias");
  expect_config_error(b, [](json& j) { j.erase("num_codebooks"); }, "missing field num_codebooks");
  expect_config_error(b, [](json& j) { j.erase("vocab_size"); }, "missing field vocab_size");
  expect_config_error(b, [](json& j) { j["rope_parameters"].erase("rope_theta"); },
                      "missing field rope_parameters.rope_theta");
  expect_config_error(b, [](json& j) { j["num_key_value_heads"] = 3; }, "not divisible");
  expect_config_error(b, [](json& j) { j["num_codebooks"] = 0; }, "number of codebooks must be positive");
  expect_config_error(b, [](json& j) { j["audio_stream_eos_id"] = 1026; }, "audio_stream_eos_id 1026");
  expect_config_error(b, [](json& j) { j["audio_token_id"] = 200000; }, "outside the vocabulary");
  expect_config_error(b, [](json& j) { j["hidden_size"] = -64; }, "hidden_size must be positive");
  expect_config_error(b, [](json& j) { j["model_type"] = "llama"; }, "model_type 'llama'");
  expect_config_error(b, [](json& j) { j.erase("model_type"); }, "missing field model_type");
  CHECK_HAS(error_of([] { parse_config_json("{\"model_type\": ", "/m/config.json"); }), "not valid JSON");
  CHECK_HAS(error_of([] { parse_config_json("[]", "/m/config.json"); }), "not a JSON object");
}

HIGGS_TEST(load_config_from_dir) {
  const std::string dir = higgs::test::temp_dir("config");
  std::string msg = error_of([&] { load_config(dir); });
  CHECK_HAS(msg, dir + "/config.json");
  write_file(dir, "config.json", kTransformersConfig);
  const HiggsConfig c = load_config(dir);
  HIGGS_CHECK(c.source == dir + "/config.json" && c.hidden_size == 64);
}

// ---- weight names ----

HIGGS_TEST(canonical_name_table) {
  const std::pair<const char*, const char*> table[] = {
      {"embed_tokens.weight", "model.embed_tokens.weight"},
      {"norm.weight", "model.norm.weight"},
      {"layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.weight"},
      {"layers.27.audio_mlp.down_proj.weight", "model.layers.27.audio_mlp.down_proj.weight"},
      {"layers.3.audio_post_attention_layernorm.weight", "model.layers.3.audio_post_attention_layernorm.weight"},
      {"audio_codebook_embeddings.weight", "model.embed_audio_tokens.embed_audio_tokens.weight"},
      {"audio_decoder_proj.audio_lm_head.weight", "audio_lm_head.weight"},
      {"audio_decoder_proj.text_lm_head.weight", "text_lm_head.weight"},
      {"embed_tokens.embedding_frozen.weight", "model.embed_tokens.weight"},
      {"embed_tokens.embedding_trainable.weight", "model.embed_tokens.weight"},
      {"audio_decoder_proj.audio_lm_head.linear_frozen.weight", "audio_lm_head.weight"},
      {"audio_decoder_proj.text_lm_head.linear_trainable.weight", "text_lm_head.weight"},
      // transformers keys pass through
      {"model.embed_tokens.weight", "model.embed_tokens.weight"},
      {"model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.gate_proj.weight"},
      {"model.embed_audio_tokens.embed_audio_tokens.weight", "model.embed_audio_tokens.embed_audio_tokens.weight"},
      {"audio_lm_head.weight", "audio_lm_head.weight"},
      // ignored
      {"rotary_emb.inv_freq", ""},
      {"model.rotary_emb.inv_freq", ""},
      {"layers.0.self_attn.rotary_emb.original_inv_freq", ""},
      {"audio_codebook_weights", ""},
  };
  for (const auto& [stored, want] : table) {
    const std::string got = canonical_name(stored);
    HIGGS_CHECK_MSG(got == want, stored << " -> '" << got << "', want '" << want << "'");
  }
  for (const char* bad : {"lm_head.weight", "layers.x.mlp.up_proj.weight", "layers.01.mlp.up_proj.weight",
                          "layers.0.mlp.up_proj.bias", "audio_tower.conv1.weight", "model.layers.0.foo.weight"}) {
    HIGGS_CHECK_THROWS(canonical_name(bad), ErrorCode::ModelFormat, std::string("'") + bad + "'");
  }
}

HIGGS_TEST(canonical_weights_merge_split_parts) {
  const std::string dir = higgs::test::temp_dir("weights");
  const std::string path = write_file(dir, "model.safetensors", make_safetensors({
      f32_spec("embed_tokens.embedding_frozen.weight", {2, 4}),
      f32_spec("embed_tokens.embedding_trainable.weight", {3, 4}),
      f32_spec("audio_decoder_proj.audio_lm_head.linear_frozen.weight", {5, 4}),
      f32_spec("audio_decoder_proj.audio_lm_head.linear_trainable.weight", {1, 4}),
      f32_spec("layers.0.self_attn.q_proj.weight", {4, 4}),
      f32_spec("layers.0.self_attn.rotary_emb.inv_freq", {2}),
      f32_spec("audio_codebook_weights", {8}),
      f32_spec("norm.weight", {4}),
  }));
  const auto w = canonical_weights(Checkpoint::open_file(path));
  HIGGS_CHECK(w.size() == 4);
  const auto& embed = w.at("model.embed_tokens.weight").parts;
  HIGGS_CHECK(embed.size() == 2 && embed[0].name == "embed_tokens.embedding_frozen.weight" &&
              embed[1].name == "embed_tokens.embedding_trainable.weight");
  const auto& head = w.at("audio_lm_head.weight").parts;
  HIGGS_CHECK(head.size() == 2 && head[0].shape[0] == 5 && head[1].shape[0] == 1);
  HIGGS_CHECK(w.at("model.layers.0.self_attn.q_proj.weight").parts.size() == 1);
  HIGGS_CHECK(w.at("model.norm.weight").parts.at(0).name == "norm.weight");
}

HIGGS_TEST(canonical_weights_errors) {
  const std::string dir = higgs::test::temp_dir("weights-bad");
  auto check = [&](const std::vector<Spec>& specs, const std::vector<std::string>& needles) {
    const std::string path = write_file(dir, "model.safetensors", make_safetensors(specs));
    const std::string msg = error_of([&] { canonical_weights(Checkpoint::open_file(path)); });
    CHECK_HAS(msg, path);
    for (const auto& n : needles) CHECK_HAS(msg, n);
  };
  check({f32_spec("vision_tower.weight", {2})}, {"unknown tensor key 'vision_tower.weight'"});
  check({f32_spec("embed_tokens.weight", {5, 4}), f32_spec("embed_tokens.embedding_frozen.weight", {2, 4}),
         f32_spec("embed_tokens.embedding_trainable.weight", {3, 4})},
        {"model.embed_tokens.weight", "both whole", "split"});
  check({f32_spec("embed_tokens.weight", {5, 4}), f32_spec("model.embed_tokens.weight", {5, 4})},
        {"both give weight model.embed_tokens.weight"});
  check({f32_spec("audio_decoder_proj.text_lm_head.linear_frozen.weight", {2, 4})}, {"lacks its trainable part"});
  check({f32_spec("embed_tokens.embedding_frozen.weight", {2, 4}),
         f32_spec("embed_tokens.embedding_trainable.weight", {3, 5})},
        {"cannot be joined"});
}
