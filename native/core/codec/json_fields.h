// Typed, path-aware reads of one JSON object of a codec config.json. Every error is an
// E_MODEL_FORMAT HiggsError naming the file and the full field path ("semantic_model_config.conv_dim").
// JSON null counts as absent, as Python's None does in the transformers config classes.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace higgs::codec {

class JsonFields {
 public:
  JsonFields(const nlohmann::json& obj, std::string prefix, std::string source)
      : obj_(obj), prefix_(std::move(prefix)), source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  std::string path(const std::string& name) const { return prefix_ + name; }
  bool has(const std::string& name) const { return find(name) != nullptr; }

  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_field(const std::string& name, const std::string& why) const;

  std::int64_t required_int(const std::string& name) const;
  std::int64_t int_or(const std::string& name, std::int64_t fallback) const;
  double number_or(const std::string& name, double fallback) const;
  bool bool_or(const std::string& name, bool fallback) const;
  std::string string_or(const std::string& name, const std::string& fallback) const;
  std::vector<std::int64_t> required_int_list(const std::string& name) const;
  std::vector<std::int64_t> int_list_or(const std::string& name, std::vector<std::int64_t> fallback) const;
  std::vector<double> required_number_list(const std::string& name) const;
  std::vector<double> number_list_or(const std::string& name, std::vector<double> fallback) const;

  // The nested object `name`; fails if it is absent or not an object.
  JsonFields required_object(const std::string& name) const;

 private:
  const nlohmann::json* find(const std::string& name) const;
  std::int64_t to_int(const std::string& name, const nlohmann::json& v) const;
  double to_number(const std::string& name, const nlohmann::json& v) const;
  const nlohmann::json& list(const std::string& name) const;

  const nlohmann::json& obj_;
  std::string prefix_;
  std::string source_;
};

}  // namespace higgs::codec
