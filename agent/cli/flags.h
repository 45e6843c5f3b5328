#pragma once

// Consul's CLI takes Go-style single-dash flags (-http-addr=..., -recurse);
// CLI11 wants GNU-style long options. This rewrites the first into the second.

#include <string>
#include <vector>

namespace roster::cli {

// "-x" -> "--x", "-x=v" -> "--x=v", "-h" and "-help" -> "--help". Left as they
// are: "--x", a lone "-" (read stdin), negative numbers ("-5"), anything not
// starting with '-', and everything after a bare "--".
std::vector<std::string> normalise_flags(const std::vector<std::string>& args);

}  // namespace roster::cli
