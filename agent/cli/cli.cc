#include "agent/cli/cli.h"

#include <iostream>

#include "agent/cli/commands.h"

namespace roster::cli {
namespace {

using CommandFunction = int (*)(const std::vector<std::string>&, const CommandIo&);

struct CommandEntry {
  const char* name;
  CommandFunction run;
};

constexpr CommandEntry kCommands[] = {
    {"catalog", run_catalog}, {"deploy", run_deploy},   {"event", run_event},     {"force-leave", run_force_leave},
    {"info", run_info},       {"join", run_join},       {"keygen", run_keygen},   {"keyring", run_keyring},
    {"kv", run_kv},           {"leave", run_leave},     {"members", run_members}, {"operator", run_operator},
    {"snapshot", run_snapshot}, {"tag", run_tag},       {"watch", run_watch},
};

bool is_help(const std::string& word) {
  return word == "help" || word == "-h" || word == "-help" || word == "--help";
}

const CommandEntry* find_command(const std::string& name) {
  for (const CommandEntry& entry : kCommands) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

}  // namespace

void print_usage(std::ostream& out) {
  out << "Usage: roster <command> [flags] [arguments]\n"
         "\n"
         "Roster: service discovery, a Consul-compatible catalog and staged configuration for a fleet.\n"
         "\n"
         "Commands:\n"
         "    agent       Runs a Roster agent\n"
         "    catalog     Lists nodes (with their tags) and services in the catalog\n"
         "    deploy      Shows nodes' deploy state (status) and follows a run's results (watch)\n"
         "    event       Fires a user event through the gossip pool\n"
         "    force-leave Marks a failed member of the gossip pool as left (a live one refutes it)\n"
         "    info        Shows the local agent's identity and statistics (gossip counters included)\n"
         "    join        Tells the local agent to join the gossip pool through other agents\n"
         "    keygen      Prints a new gossip encryption key\n"
         "    keyring     Lists, installs, uses and removes gossip encryption keys\n"
         "    kv          Reads and writes the key/value store\n"
         "    leave       Makes the local agent leave the gossip pool gracefully and shut down\n"
         "    members     Lists the members of the gossip pool\n"
         "    operator    Lists and removes Raft peers, transfers leadership\n"
         "    snapshot    Saves, restores and inspects snapshots of the catalog\n"
         "    tag         Shows, sets or removes a node's tags (operator layer)\n"
         "    validate    Checks config files and reports errors with file:line\n"
         "    watch       Prints user events as they arrive (-type event)\n"
         "\n"
         "Flags of every command that talks to an agent:\n"
         "    -http-addr=<addr>     The agent's HTTP API (default: $ROSTER_HTTP_ADDR, $CONSUL_HTTP_ADDR,\n"
         "                          then 127.0.0.1:8500)\n"
         "    -token=<token>        ACL token (default: $ROSTER_HTTP_TOKEN, then $CONSUL_HTTP_TOKEN)\n"
         "    -format=table|json    Output format (default: table)\n"
         "\n"
         "Run 'roster <command> -help' for a command's flags and examples.\n";
}

bool is_cli_command(const std::string& name) { return is_help(name) || find_command(name) != nullptr; }

int run_cli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    print_usage(err);
    return 1;
  }
  const std::string& name = args.front();
  if (is_help(name)) {
    // `roster help kv` is `roster kv -help`.
    if (args.size() > 1 && find_command(args[1]) != nullptr) return run_cli({args[1], "--help"}, in, out, err);
    print_usage(out);
    return 0;
  }
  const CommandEntry* command = find_command(name);
  if (command == nullptr) {
    err << "Error! Unknown command \"" << name << "\"\n"
        << "Run 'roster -help' for the list of commands.\n";
    return 1;
  }
  const CommandIo io{in, out, err, process_environment()};
  return command->run(std::vector<std::string>(args.begin() + 1, args.end()), io);
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_cli(args, std::cin, out, err);
}

}  // namespace roster::cli
