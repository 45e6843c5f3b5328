#pragma once

// The operator CLI of the `roster` binary: the subcommands that talk to a
// running agent over its Consul-compatible HTTP API (members, catalog, kv,
// tag, info). `roster agent` and `roster validate` are dispatched by main.

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace roster::cli {

// True for the subcommands run_cli() implements and for the help forms
// ("help", "-h", "-help", "--help"). main() runs `agent` and `validate`
// itself and hands everything else, unknown words included, to run_cli(),
// which prints the usage for them.
bool is_cli_command(const std::string& name);

// Runs one CLI invocation. `args` excludes argv[0]; args[0] is the
// subcommand. Output goes to `out`, errors and usage hints to `err`, and
// `-` values (kv put) are read from `in`. Returns the process exit code:
// 0 on success (help included), 1 on a usage or API error. No arguments
// prints the overall usage to `err` and returns 1.
int run_cli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

// As above, reading stdin.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The overall usage: every command of the binary, agent and validate included.
void print_usage(std::ostream& out);

}  // namespace roster::cli
