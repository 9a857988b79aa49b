// Typed, path-aware reads of one object of a config.json: the one reader behind the LM's
// checkpoint config (lm/checkpoint_config.cc) and the codec's (codec/codec_config.cc). Every
// error is an E_MODEL_FORMAT HiggsError naming the file and the full field path
// ("text_config.hidden_size", "semantic_model_config.conv_dim"). JSON null counts as absent, as
// Python's None does in the config classes that write these files.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace higgs::io {

class JsonFields {
 public:
  // `prefix` is the path of `obj` with a trailing dot ("" at the top). whole_floats_are_ints:
  // accept a whole float such as 2.0 where an integer is due (the codec's config, which Python
  // writes so for some int fields); otherwise a float there is refused.
  JsonFields(const nlohmann::json& obj, std::string prefix, std::string source, bool whole_floats_are_ints = false)
      : obj_(obj), prefix_(std::move(prefix)), source_(std::move(source)), whole_floats_are_ints_(whole_floats_are_ints) {}

  const std::string& source() const { return source_; }
  std::string path(const std::string& name) const { return prefix_ + name; }
  const nlohmann::json* find(const std::string& name) const;  // nullptr when absent or null
  bool has(const std::string& name) const { return find(name) != nullptr; }

  [[noreturn]] void fail(const std::string& what) const;                               // "<source>: <what>"
  [[noreturn]] void fail_field(const std::string& name, const std::string& why) const;  // "field <path> <why>"
  [[noreturn]] void missing(const std::string& name) const;                            // "missing field <path>"

  // One value of field `name` (the field itself or an item of its list).
  std::int64_t to_int(const std::string& name, const nlohmann::json& v) const;
  double to_number(const std::string& name, const nlohmann::json& v) const;

  std::int64_t required_int(const std::string& name) const;
  std::int64_t int_or(const std::string& name, std::int64_t fallback) const;
  double required_number(const std::string& name) const;
  double number_or(const std::string& name, double fallback) const;
  bool bool_or(const std::string& name, bool fallback) const;  // true/false, or the integers 0/1
  std::string string_or(const std::string& name, const std::string& fallback) const;
  // The list `name` (missing or not a list: an error), and its items as integers or numbers.
  const nlohmann::json& required_list(const std::string& name) const;
  std::vector<std::int64_t> required_int_list(const std::string& name) const;
  std::vector<std::int64_t> int_list_or(const std::string& name, std::vector<std::int64_t> fallback) const;
  std::vector<double> required_number_list(const std::string& name) const;
  std::vector<double> number_list_or(const std::string& name, std::vector<double> fallback) const;

  // The nested object `name`, its fields' paths under this one's: required_object fails if it
  // is absent, object() is empty then; both fail if it is there and not an object.
  JsonFields required_object(const std::string& name) const;
  std::optional<JsonFields> object(const std::string& name) const;

 private:
  JsonFields nested(const std::string& name, const nlohmann::json& obj) const;

  const nlohmann::json& obj_;
  std::string prefix_;
  std::string source_;
  bool whole_floats_are_ints_;
};

}  // namespace higgs::io
