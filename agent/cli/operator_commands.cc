// roster operator raft list-peers | remove-peer | transfer-leader, and
// roster snapshot save | restore | inspect: operating a server cluster.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include "agent/catalog/snapshot_file.h"
#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"
#include "common/env.h"

namespace roster::cli {
namespace {

// A snapshot restore is one Raft entry of the whole catalog; give it longer
// than an ordinary write.
constexpr auto kSnapshotTimeout = std::chrono::minutes(2);

int raft_list_peers(const CommonOptions& common, const CommandIo& io) {
  Result<nlohmann::json> answer = connect(common, io).get_json("/v1/operator/raft/configuration");
  if (!answer.is_ok()) return report_error(io.err, "Failed to retrieve raft configuration", answer.status());
  if (common.json()) {
    print_json(io.out, *answer);
    return 0;
  }
  Table table({"Node", "ID", "Address", "State", "Voter", "RaftProtocol"});
  const nlohmann::json* servers = answer->is_object() ? &(*answer)["Servers"] : nullptr;
  if (servers != nullptr && servers->is_array()) {
    for (const nlohmann::json& server : *servers) {
      const bool leader = server.value("Leader", false);
      table.add_row({server.value("Node", ""), server.value("ID", ""), server.value("Address", ""),
                     leader ? "leader" : "follower", server.value("Voter", false) ? "true" : "false",
                     server.value("ProtocolVersion", "")});
    }
  }
  table.render(io.out);
  return 0;
}

int raft_remove_peer(const std::string& id, const std::string& address, const CommonOptions& common,
                     const CommandIo& io) {
  if (id.empty() == address.empty()) {
    io.err << "Error! Give exactly one of -id or -address\nRun 'roster operator raft remove-peer -help' for usage.\n";
    return 1;
  }
  const std::string query = id.empty() ? "address=" + escape_component(address) : "id=" + escape_component(id);
  Result<HttpResponse> response = connect(common, io).send("DELETE", "/v1/operator/raft/peer?" + query);
  if (response.is_ok() && (response->status < 200 || response->status >= 300)) {
    response = status_from_response(*response);
  }
  if (!response.is_ok()) return report_error(io.err, "Failed to remove raft peer", response.status());
  io.out << "Removed peer with " << (id.empty() ? "address \"" + address : "id \"" + id) << "\"\n";
  return 0;
}

int raft_transfer_leader(const std::string& id, const CommonOptions& common, const CommandIo& io) {
  const std::string path = "/v1/operator/raft/transfer-leader" + (id.empty() ? "" : "?id=" + escape_component(id));
  Result<nlohmann::json> answer = connect(common, io).json_request("POST", path);
  if (!answer.is_ok()) return report_error(io.err, "Failed to transfer leadership", answer.status());
  if (!answer->is_object() || !answer->value("Success", false)) {
    io.err << "Error! Failed to transfer leadership: the agent did not report success\n";
    return 1;
  }
  io.out << "Success! Leadership transferred" << (id.empty() ? "" : " to " + id) << ".\n";
  return 0;
}

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::not_found("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return Status::internal("cannot read " + path);
  return bytes;
}

int snapshot_save(const std::string& path, const CommonOptions& common, const CommandIo& io) {
  Result<HttpResponse> response = connect(common, io, kSnapshotTimeout).send("GET", "/v1/snapshot");
  if (response.is_ok() && response->status != 200) response = status_from_response(*response);
  if (!response.is_ok()) return report_error(io.err, "Failed to get snapshot", response.status());
  // Checked before it is written, so a file that says "saved" restores.
  auto data = catalog::decode_snapshot_file(response->body);
  if (!data.is_ok()) return report_error(io.err, "The agent sent an unreadable snapshot", data.status());
  PosixEnv env;
  if (Status written = write_file_atomically(env, path, response->body); !written.is_ok()) {
    return report_error(io.err, "Failed to write " + path, written);
  }
  io.out << "Saved and verified snapshot to index " << data->last_index << "\n";
  return 0;
}

int snapshot_restore(const std::string& path, const CommonOptions& common, const CommandIo& io) {
  Result<std::string> bytes = read_whole_file(path);
  if (!bytes.is_ok()) return report_error(io.err, "Failed to read snapshot", bytes.status());
  // Refused here already, so a wrong file never reaches the cluster.
  if (auto data = catalog::decode_snapshot_file(*bytes); !data.is_ok()) {
    return report_error(io.err, "Not a valid snapshot", data.status());
  }
  Result<HttpResponse> response =
      connect(common, io, kSnapshotTimeout).send("PUT", "/v1/snapshot", *bytes, "application/octet-stream");
  if (response.is_ok() && (response->status < 200 || response->status >= 300)) {
    response = status_from_response(*response);
  }
  if (!response.is_ok()) return report_error(io.err, "Failed to restore snapshot", response.status());
  io.out << "Restored snapshot\n";
  return 0;
}

int snapshot_inspect(const std::string& path, const CommonOptions& common, const CommandIo& io) {
  Result<std::string> bytes = read_whole_file(path);
  if (!bytes.is_ok()) return report_error(io.err, "Failed to read snapshot", bytes.status());
  auto data = catalog::decode_snapshot_file(*bytes);
  if (!data.is_ok()) return report_error(io.err, "Not a valid snapshot", data.status());
  const std::vector<std::pair<std::string, uint64_t>> fields = {
      {"Index", data->last_index},       {"Size", bytes->size()},       {"Nodes", data->nodes.size()},
      {"Services", data->services.size()}, {"Checks", data->checks.size()}, {"KV", data->kvs.size()},
      {"Sessions", data->sessions.size()}};
  if (common.json()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, value] : fields) out[name] = value;
    print_json(io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, value] : fields) rows.push_back({name, std::to_string(value)});
  render_columns(io.out, rows);
  return 0;
}

}  // namespace

int run_operator(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Operates the cluster's servers: the Raft configuration and leadership.", "roster operator");
  app.require_subcommand(1);
  CLI::App* raft = app.add_subcommand("raft", "Shows and changes the servers' Raft configuration");
  raft->require_subcommand(1);
  CommonOptions common;
  std::string id;
  std::string address;

  CLI::App* list = raft->add_subcommand("list-peers", "Lists the servers of the Raft configuration and the leader");
  add_common_options(*list, common);
  list->footer("Example:\n  roster operator raft list-peers");

  CLI::App* remove = raft->add_subcommand(
      "remove-peer",
      "Removes a server from the Raft configuration, by ID or address. For a server that is gone for\n"
      "good: a live server is added back by autopilot (make it leave with `roster leave` instead).");
  remove->add_option("--id", id, "The server's ID, as list-peers shows it");
  remove->add_option("--address", address, "The server's Raft address, ip:port");
  add_common_options(*remove, common);
  remove->footer("Examples:\n  roster operator raft remove-peer -address=10.0.0.7:8300\n"
                 "  roster operator raft remove-peer -id=0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10");

  CLI::App* transfer = raft->add_subcommand(
      "transfer-leader", "Hands leadership to another voter (-id), or to the most caught-up one, and waits for it");
  transfer->add_option("--id", id, "The server to lead, as list-peers shows its ID");
  add_common_options(*transfer, common);
  transfer->footer("Examples:\n  roster operator raft transfer-leader\n  roster operator raft transfer-leader -id=<ID>");

  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (list->parsed()) return raft_list_peers(common, io);
  if (remove->parsed()) return raft_remove_peer(id, address, common, io);
  return raft_transfer_leader(id, common, io);
}

int run_snapshot(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Saves the catalog to a file, restores it onto the cluster, or describes a saved file.",
               "roster snapshot");
  app.require_subcommand(1);
  CommonOptions common;
  std::string path;

  CLI::App* save = app.add_subcommand("save", "Saves the leader's catalog (nodes, services, checks, KV, sessions) to FILE");
  save->add_option("file", path, "Where to write the snapshot")->required();
  add_common_options(*save, common);
  save->footer("Example:\n  roster snapshot save backup.snap");

  CLI::App* restore = app.add_subcommand(
      "restore", "Replaces the whole catalog with the one in FILE, on every server (one Raft entry)");
  restore->add_option("file", path, "A file written by `roster snapshot save`")->required();
  add_common_options(*restore, common);
  restore->footer("Example:\n  roster snapshot restore backup.snap");

  CLI::App* inspect = app.add_subcommand("inspect", "Checks FILE and prints its index, size and what it holds");
  inspect->add_option("file", path, "A file written by `roster snapshot save`")->required();
  add_common_options(*inspect, common);
  inspect->footer("Example:\n  roster snapshot inspect backup.snap");

  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (save->parsed()) return snapshot_save(path, common, io);
  if (restore->parsed()) return snapshot_restore(path, common, io);
  return snapshot_inspect(path, common, io);
}

}  // namespace roster::cli
