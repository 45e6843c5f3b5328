#pragma once

// Reading fields of the agent's JSON answers. Keys are matched
// case-insensitively, as the agent itself matches them, so a client does not
// break on "NodeName" versus "nodename".

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace roster::cli {

// The member `name` of `object`, or nullptr when `object` is not an object or
// has no such member. An exact match wins over a case-insensitive one.
const nlohmann::json* find_field(const nlohmann::json& object, std::string_view name);

// The member as text: strings as they are, numbers and booleans in JSON
// form, "" when missing or null.
std::string field_text(const nlohmann::json& object, std::string_view name);

// A JSON value as display text: strings without quotes, null as "", the rest
// as compact JSON.
std::string value_text(const nlohmann::json& value);

// {"role":"web","env":"prod"} -> "env=prod,role=web" (sorted by key); "" for
// anything that is not a non-empty object.
std::string format_tag_map(const nlohmann::json* tags);

}  // namespace roster::cli
