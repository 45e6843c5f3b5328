// roster: the operator CLI, and the front door to the agent. Wiring only.
//
// `roster agent ...` replaces this process with the roster-agent program that
// sits next to this binary (as git does with its git-* programs). The PID,
// the command line and the signals stay the same, so service managers and
// scripts see `roster agent` as they would with a single binary, while the
// agent never maps the CLI's HTTP client library.

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/cli.h"
#include "agent/config/agent_config.h"
#include "common/version.h"

namespace {

constexpr const char* kAgentProgram = "roster-agent";

// The agent program next to this binary, or next to argv[0] when /proc is
// not mounted.
std::filesystem::path agent_program(const char* argv0) {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) self = std::filesystem::absolute(argv0, error);
  return self.parent_path() / kAgentProgram;
}

int exec_agent(char** argv) {
  const auto program = agent_program(argv[0]);
  ::execv(program.c_str(), argv);
  std::cerr << "roster agent: cannot start " << program.string() << ": " << std::strerror(errno)
            << "\nThe agent program is installed next to `roster`; reinstall Roster if it is missing.\n";
  return 1;
}

int run_validate(const std::vector<std::string>& paths) {
  if (paths.empty() || paths.front() == "-help" || paths.front() == "--help" || paths.front() == "-h") {
    std::cout << "Usage: roster validate <file|dir> [<file|dir> ...]\n\n"
                 "Checks agent configuration files (YAML) without starting an agent. Each error is\n"
                 "printed as file:line: message. Exits 0 when every file is valid, 1 otherwise.\n";
    return paths.empty() ? 1 : 0;
  }
  auto errors = roster::config::validate_paths(paths);
  for (const auto& error : errors) std::cerr << error.to_string() << "\n";
  if (!errors.empty()) return 1;
  std::cout << "Configuration is valid!\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    roster::cli::print_usage(std::cerr);
    return 1;
  }
  const std::string& command = args.front();
  if (command == "agent") return exec_agent(argv);
  if (command == "validate") return run_validate(std::vector<std::string>(args.begin() + 1, args.end()));
  if (command == "version" || command == "-version" || command == "--version") {
    std::cout << "Roster v" << roster::kVersion << "\n";
    return 0;
  }
  return roster::cli::run_cli(args, std::cout, std::cerr);
}
