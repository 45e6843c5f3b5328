#include "agent/cli/json_fields.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace roster::cli {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const nlohmann::json* find_field(const nlohmann::json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  if (auto it = object.find(std::string(name)); it != object.end()) return &*it;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (equal_ignoring_case(it.key(), name)) return &it.value();
  }
  return nullptr;
}

std::string value_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

std::string field_text(const nlohmann::json& object, std::string_view name) {
  const nlohmann::json* value = find_field(object, name);
  return value == nullptr ? "" : value_text(*value);
}

std::string format_tag_map(const nlohmann::json* tags) {
  if (tags == nullptr || !tags->is_object()) return "";
  std::string out;
  for (const auto& [key, value] : tags->items()) {  // nlohmann::json keeps object keys sorted
    if (!out.empty()) out += ',';
    out += key + "=" + value_text(value);
  }
  return out;
}

}  // namespace roster::cli
