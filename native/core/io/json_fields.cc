// JsonFields: the type checks and messages of every config.json field the core reads.
#include "io/json_fields.h"

#include <cmath>

#include "errors.h"

namespace higgs::io {

using json = nlohmann::json;

void JsonFields::fail(const std::string& what) const { throw model_format_error(source_, what); }

void JsonFields::fail_field(const std::string& name, const std::string& why) const {
  fail("field " + path(name) + " " + why);
}

void JsonFields::missing(const std::string& name) const { fail("missing field " + path(name)); }

const json* JsonFields::find(const std::string& name) const {
  auto it = obj_.find(name);
  return it == obj_.end() || it->is_null() ? nullptr : &*it;
}

std::int64_t JsonFields::to_int(const std::string& name, const json& v) const {
  if (whole_floats_are_ints_ && v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  }
  if (!v.is_number_integer()) fail_field(name, "must be an integer, got " + v.dump());
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail_field(name, "must be an integer that fits in 64 bits, got " + v.dump());
  }
  return v.get<std::int64_t>();
}

double JsonFields::to_number(const std::string& name, const json& v) const {
  if (!v.is_number()) fail_field(name, "must be a number, got " + v.dump());
  return v.get<double>();
}

std::int64_t JsonFields::required_int(const std::string& name) const {
  const json* v = find(name);
  if (!v) missing(name);
  return to_int(name, *v);
}

std::int64_t JsonFields::int_or(const std::string& name, std::int64_t fallback) const {
  const json* v = find(name);
  return v ? to_int(name, *v) : fallback;
}

double JsonFields::required_number(const std::string& name) const {
  const json* v = find(name);
  if (!v) missing(name);
  return to_number(name, *v);
}

double JsonFields::number_or(const std::string& name, double fallback) const {
  const json* v = find(name);
  return v ? to_number(name, *v) : fallback;
}

bool JsonFields::bool_or(const std::string& name, bool fallback) const {
  const json* v = find(name);
  if (!v) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  // The reference code only tests these flags for truth, and released configs write some as
  // integers ("use_audio_out_self_attention": 0): 0 and 1 mean false and true.
  if (v->is_number_integer() && (v->get<std::int64_t>() == 0 || v->get<std::int64_t>() == 1)) {
    return v->get<std::int64_t>() == 1;
  }
  fail_field(name, "must be true or false (or 0 or 1), got " + v->dump());
}

std::string JsonFields::string_or(const std::string& name, const std::string& fallback) const {
  const json* v = find(name);
  if (!v) return fallback;
  if (!v->is_string()) fail_field(name, "must be a string, got " + v->dump());
  return v->get<std::string>();
}

const json& JsonFields::required_list(const std::string& name) const {
  const json* v = find(name);
  if (!v) missing(name);
  if (!v->is_array()) fail_field(name, "must be a list, got " + v->dump());
  return *v;
}

std::vector<std::int64_t> JsonFields::required_int_list(const std::string& name) const {
  std::vector<std::int64_t> out;
  for (const auto& item : required_list(name)) out.push_back(to_int(name, item));
  return out;
}

std::vector<std::int64_t> JsonFields::int_list_or(const std::string& name, std::vector<std::int64_t> fallback) const {
  return has(name) ? required_int_list(name) : fallback;
}

std::vector<double> JsonFields::required_number_list(const std::string& name) const {
  std::vector<double> out;
  for (const auto& item : required_list(name)) out.push_back(to_number(name, item));
  return out;
}

std::vector<double> JsonFields::number_list_or(const std::string& name, std::vector<double> fallback) const {
  return has(name) ? required_number_list(name) : fallback;
}

JsonFields JsonFields::nested(const std::string& name, const json& obj) const {
  if (!obj.is_object()) fail_field(name, "must be an object, got " + obj.dump().substr(0, 80));
  return JsonFields(obj, path(name) + ".", source_, whole_floats_are_ints_);
}

JsonFields JsonFields::required_object(const std::string& name) const {
  const json* v = find(name);
  if (!v) missing(name);
  return nested(name, *v);
}

std::optional<JsonFields> JsonFields::object(const std::string& name) const {
  const json* v = find(name);
  if (!v) return std::nullopt;
  return nested(name, *v);
}

}  // namespace higgs::io
