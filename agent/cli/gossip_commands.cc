// roster join | leave | force-leave | keygen | keyring: the gossip pool.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"
#include "agent/gossip/wire/keyring.h"
#include "agent/gossip/wire/random_source.h"

namespace roster::cli {
namespace {

// A request whose answer carries no JSON we need (Consul answers these with an empty 200).
Status send_simple(const AgentApi& api, const std::string& method, const std::string& path,
                   const std::string& body = "") {
  Result<HttpResponse> response = api.send(method, path, body, body.empty() ? "" : "application/json");
  if (!response.is_ok()) return response.status();
  if (response->status < 200 || response->status >= 300) return status_from_response(*response);
  return Status::ok();
}

}  // namespace

int run_join(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Tells the local agent to join the gossip pool through one or more agents' gossip addresses.\n"
               "Succeeds when at least one of them answers.",
               "roster join");
  CommonOptions common;
  std::vector<std::string> addresses;
  add_common_options(app, common);
  app.add_option("addresses", addresses, "Gossip addresses: ip, ip:port or host:port (port default: 8301)")
      ->required();
  app.footer("Examples:\n  roster join 10.0.0.7\n  roster join 10.0.0.7:8301 10.0.0.8:8301");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;

  AgentApi api = connect(common, io);
  int joined = 0;
  for (const std::string& address : addresses) {
    Status status = send_simple(api, "PUT", "/v1/agent/join/" + escape_component(address));
    if (status.is_ok()) {
      ++joined;
    } else {
      io.err << "Error joining " << address << ": " << status.message() << "\n";
    }
  }
  if (joined == 0) {
    io.err << "Error! Failed to join any of the " << addresses.size() << " address(es)\n";
    return 1;
  }
  io.out << "Successfully joined cluster by contacting " << joined << " node(s).\n";
  return 0;
}

int run_leave(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Makes the local agent leave the gossip pool gracefully and shut down. The other members\n"
               "see it as left, not failed.",
               "roster leave");
  CommonOptions common;
  add_common_options(app, common);
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  Status status = send_simple(connect(common, io), "PUT", "/v1/agent/leave");
  if (!status.is_ok()) return report_error(io.err, "Failed to leave", status);
  io.out << "Graceful leave complete\n";
  return 0;
}

int run_force_leave(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Marks a failed member of the gossip pool as left, so it is no longer reconnected to and is\n"
               "reaped sooner. A member that is still alive shows as leaving until it refutes, and stays.",
               "roster force-leave");
  CommonOptions common;
  std::string node;
  add_common_options(app, common);
  app.add_option("node", node, "Name of the member to force out")->required();
  app.footer("Example:\n  roster force-leave web-7");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  Status status = send_simple(connect(common, io), "PUT", "/v1/agent/force-leave/" + escape_component(node));
  if (!status.is_ok()) return report_error(io.err, "Failed to force-leave " + node, status);
  return 0;
}

int run_keygen(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Prints a new random gossip encryption key (32 bytes, base64) for -encrypt or `roster keyring`.\n"
               "Runs locally; no agent is needed.",
               "roster keygen");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  gossip::wire::OpenSslRandomSource random;
  Result<std::string> key = gossip::wire::generate_key(random);
  if (!key.is_ok()) return report_error(io.err, "Failed to generate a key", key.status());
  io.out << *key << "\n";
  return 0;
}

int run_keyring(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Lists and changes the gossip encryption keys of the whole pool. Each call goes to the agent\n"
               "at -http-addr, which asks every live member and reports how many hold each key; every agent\n"
               "saves its keyring in its data dir. Rotate a key without downtime: -install the new key,\n"
               "-use it, then -remove the old one.",
               "roster keyring");
  CommonOptions common;
  bool list = false;
  std::string install;
  std::string use;
  std::string remove;
  add_common_options(app, common);
  auto* list_flag = app.add_flag("--list", list, "Lists the installed keys and how many members hold each");
  auto* install_option = app.add_option("--install", install, "Installs a key (base64), not yet used to send");
  auto* use_option = app.add_option("--use", use, "Makes an installed key the primary: packets are sent with it");
  auto* remove_option = app.add_option("--remove", remove, "Removes an installed key that is not the primary");
  list_flag->excludes(install_option)->excludes(use_option)->excludes(remove_option);
  install_option->excludes(use_option)->excludes(remove_option);
  use_option->excludes(remove_option);
  app.footer("Examples:\n  roster keyring -list\n  roster keyring -install $(roster keygen)");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;

  AgentApi api = connect(common, io);
  if (!install.empty() || !use.empty() || !remove.empty()) {
    const char* method = !install.empty() ? "POST" : !use.empty() ? "PUT" : "DELETE";
    const std::string& key = !install.empty() ? install : !use.empty() ? use : remove;
    const char* action = !install.empty() ? "install" : !use.empty() ? "change the primary" : "remove";
    Status status = send_simple(api, method, "/v1/operator/keyring", nlohmann::json{{"Key", key}}.dump());
    if (!status.is_ok()) return report_error(io.err, std::string("Failed to ") + action + " the key", status);
    io.out << "Done: " << (!install.empty() ? "installed" : !use.empty() ? "now using" : "removed") << " key "
           << key << " on every live member\n";
    return 0;
  }
  if (!list) {
    io.err << "Error! Give one of -list, -install, -use, -remove\nRun 'roster keyring -help' for usage.\n";
    return 1;
  }
  Result<nlohmann::json> answer = api.get_json("/v1/operator/keyring");
  if (!answer.is_ok()) return report_error(io.err, "Failed to list keys", answer.status());
  if (common.json()) {
    print_json(io.out, *answer);
    return 0;
  }
  Table table({"Key", "Primary", "Nodes"});
  if (answer->is_array()) {
    for (const auto& pool : *answer) {
      const nlohmann::json* keys = find_field(pool, "Keys");
      const nlohmann::json* primary = find_field(pool, "PrimaryKeys");
      const std::string total = field_text(pool, "NumNodes");
      if (keys == nullptr || !keys->is_object()) continue;
      for (const auto& [key, count] : keys->items()) {
        bool is_primary = primary != nullptr && primary->is_object() && primary->contains(key);
        table.add_row({key, is_primary ? "yes" : "no", value_text(count) + "/" + total});
      }
    }
  }
  table.render(io.out);
  return 0;
}

}  // namespace roster::cli
