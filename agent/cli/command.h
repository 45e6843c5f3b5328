#pragma once

// What every CLI subcommand shares: its streams and environment, the common
// flags (-http-addr, -token, -format), parsing with help and usage errors, and
// the "Error! ..." convention. CLI11 itself stays in the .cc files.

#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "agent/cli/agent_address.h"
#include "agent/cli/agent_api.h"
#include "common/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace roster::cli {

// Borrowed streams; they outlive the command.
struct CommandIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  EnvLookup env;
};

struct CommonOptions {
  std::string http_addr;        // empty: take it from the environment
  std::string token;            // empty: take it from the environment
  std::string format = "table"; // "table" or "json"

  bool json() const { return format == "json"; }
};

// Adds -http-addr, -token and -format to `app`, writing into `options`.
// REQUIRES: `options` outlives parsing of `app`.
void add_common_options(CLI::App& app, CommonOptions& options);

// The agent the common options point at; `timeout` bounds each request (a
// blocking query needs longer than its wait).
AgentApi connect(const CommonOptions& options, const CommandIo& io,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Parses `args` (Consul-style single-dash flags accepted). Returns nullopt
// when the command should run; otherwise the exit code, after printing help
// to io.out (0) or the parse error and a usage hint to io.err (1).
std::optional<int> parse_command_line(CLI::App& app, const std::vector<std::string>& args, const CommandIo& io);

// Prints "Error! <context>: <message>" (plus a hint for permission errors)
// to `err` and returns the exit code 1.
int report_error(std::ostream& err, const std::string& context, const Status& status);

// Pretty-printed JSON, for -format=json.
void print_json(std::ostream& out, const nlohmann::json& value);

}  // namespace roster::cli
