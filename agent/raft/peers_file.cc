#include "agent/raft/peers_file.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <map>

#include "common/host_port.h"

namespace roster::raft {

namespace {

using nlohmann::json;

Status entry_error(size_t position, const std::string& problem) {
  return Status::invalid_argument("server " + std::to_string(position) + " of the list: " + problem);
}

}  // namespace

Result<ServerId> parse_server_number(const std::string& id) {
  ServerId number = kNoServer;
  auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
  if (error != std::errc() || end != id.data() + id.size() || number == kNoServer) {
    return Status::invalid_argument("id \"" + id + "\" is not a Raft server number");
  }
  return number;
}

Result<Configuration> parse_peers_file(std::string_view text, const PeerIdParser& id_of) {
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Status::invalid_argument("not valid JSON");
  if (!document.is_array()) {
    return Status::invalid_argument(
        "must be a JSON array of servers, [{\"id\": ..., \"address\": \"ip:port\", \"non_voter\": false}]");
  }
  if (document.empty()) return Status::invalid_argument("lists no server");

  Configuration configuration;
  std::map<ServerId, size_t> seen_ids;
  std::map<std::string, size_t> seen_addresses;
  for (size_t i = 0; i < document.size(); ++i) {
    const json& entry = document[i];
    const size_t position = i + 1;
    if (entry.is_string()) {
      return entry_error(position,
                         "a bare address is Consul's raft protocol 2 format; Roster reads only version 3, "
                         "{\"id\": ..., \"address\": \"ip:port\", \"non_voter\": false}");
    }
    if (!entry.is_object()) return entry_error(position, "not a JSON object");

    auto id_field = entry.find("id");
    if (id_field == entry.end() || !id_field->is_string() || id_field->get<std::string>().empty()) {
      return entry_error(position, "no \"id\" (a string, as `roster operator raft list-peers` shows it)");
    }
    const std::string id_text = id_field->get<std::string>();
    Result<ServerId> id = id_of(id_text);
    if (!id.is_ok()) return entry_error(position, id.status().message());

    auto address_field = entry.find("address");
    if (address_field == entry.end() || !address_field->is_string()) {
      return entry_error(position, "no \"address\" (a string, \"ip:port\")");
    }
    const std::string address = address_field->get<std::string>();
    if (!split_host_port(address)) {
      return entry_error(position, "address \"" + address + "\" is not an IP address and a port (ip:port)");
    }

    bool non_voter = false;
    if (auto field = entry.find("non_voter"); field != entry.end()) {
      if (!field->is_boolean()) return entry_error(position, "\"non_voter\" is not true or false");
      non_voter = field->get<bool>();
    }

    if (auto [it, added] = seen_ids.emplace(*id, position); !added) {
      return entry_error(position, "id \"" + id_text + "\" names the same server as server " +
                                       std::to_string(it->second));
    }
    if (auto [it, added] = seen_addresses.emplace(address, position); !added) {
      return entry_error(position, "address " + address + " is also server " + std::to_string(it->second) + "'s");
    }
    configuration.servers.push_back(Server{*id, address, !non_voter});
  }
  bool any_voter = false;
  for (const Server& server : configuration.servers) any_voter = any_voter || server.voter;
  if (!any_voter) return Status::invalid_argument("lists no voter (every server has \"non_voter\": true)");
  return configuration;
}

}  // namespace roster::raft
