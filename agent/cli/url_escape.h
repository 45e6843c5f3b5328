#pragma once

// Percent-encoding for the parts of agent API URLs the CLI builds from user
// input (KV keys, node names, query values).

#include <string>
#include <string_view>

namespace roster::cli {

// Encodes every byte except RFC 3986 unreserved characters and '/', so a KV
// key keeps its hierarchy: "app/db conn" -> "app/db%20conn".
std::string escape_path(std::string_view text);

// Encodes every byte except unreserved characters: for one path segment
// (a node name) or one query value.
std::string escape_component(std::string_view text);

}  // namespace roster::cli
