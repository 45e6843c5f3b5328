#include "agent/cli/command.h"

#include <algorithm>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/flags.h"

namespace roster::cli {
namespace {

// "roster kv get": the app's name and the subcommands that were selected.
std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  while (true) {
    auto selected = current->get_subcommands();
    if (selected.empty()) break;
    current = selected.front();
    path += " " + current->get_name();
  }
  return path;
}

}  // namespace

void add_common_options(CLI::App& app, CommonOptions& options) {
  app.add_option("--http-addr", options.http_addr,
                 "Address of the agent's HTTP API, host:port or a URL. Default: $ROSTER_HTTP_ADDR, "
                 "$CONSUL_HTTP_ADDR, then 127.0.0.1:8500");
  app.add_option("--token", options.token,
                 "ACL token sent as X-Consul-Token. Default: $ROSTER_HTTP_TOKEN, then $CONSUL_HTTP_TOKEN");
  app.add_option("--format", options.format, "Output format: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
}

AgentApi connect(const CommonOptions& options, const CommandIo& io, std::chrono::milliseconds timeout) {
  return AgentApi(resolve_http_addr(options.http_addr, io.env), resolve_token(options.token, io.env), timeout);
}

std::optional<int> parse_command_line(CLI::App& app, const std::vector<std::string>& args, const CommandIo& io) {
  std::vector<std::string> reversed = normalise_flags(args);
  std::reverse(reversed.begin(), reversed.end());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    io.out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    io.out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    io.err << "Error! " << e.what() << "\n"
           << "Run '" << command_path(app) << " -help' for usage.\n";
    return 1;
  }
  return std::nullopt;
}

int report_error(std::ostream& err, const std::string& context, const Status& status) {
  err << "Error! " << context << ": " << status.message() << "\n";
  if (status.code() == StatusCode::permission_denied) {
    err << "Pass an ACL token with -token, or set ROSTER_HTTP_TOKEN.\n";
  }
  return 1;
}

void print_json(std::ostream& out, const nlohmann::json& value) { out << value.dump(2) << "\n"; }

}  // namespace roster::cli
