#include "agent/cli/flags.h"

#include <cctype>

namespace roster::cli {

std::vector<std::string> normalise_flags(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  bool positional_only = false;
  for (const std::string& arg : args) {
    if (positional_only || arg.size() < 2 || arg[0] != '-' || arg[1] == '-' ||
        !std::isalpha(static_cast<unsigned char>(arg[1]))) {
      if (arg == "--") positional_only = true;
      out.push_back(arg);
      continue;
    }
    if (arg == "-h" || arg == "-help") {
      out.emplace_back("--help");
    } else {
      out.push_back("-" + arg);
    }
  }
  return out;
}

}  // namespace roster::cli
