#include "agent/raft/membership.h"

#include "agent/raft/codec.h"

#include <algorithm>

namespace roster::raft {

const Server* find_server(const Configuration& configuration, ServerId id) {
  for (const Server& server : configuration.servers) {
    if (server.id == id) return &server;
  }
  return nullptr;
}

bool is_voter(const Configuration& configuration, ServerId id) {
  const Server* server = find_server(configuration, id);
  return server != nullptr && server->voter;
}

size_t voter_count(const Configuration& configuration) {
  return static_cast<size_t>(std::count_if(configuration.servers.begin(), configuration.servers.end(),
                                           [](const Server& server) { return server.voter; }));
}

size_t quorum_size(const Configuration& configuration) { return voter_count(configuration) / 2 + 1; }

Result<Configuration> apply_change(const Configuration& configuration, const MembershipChange& change) {
  Configuration next = configuration;
  const ServerId id = change.server.id;
  if (id == kNoServer) return Status::invalid_argument("server id 0 is reserved");
  auto found = std::find_if(next.servers.begin(), next.servers.end(), [id](const Server& s) { return s.id == id; });
  switch (change.kind) {
    case MembershipChangeKind::add_non_voter:
      if (found != next.servers.end()) return Status::conflict("server " + std::to_string(id) + " is already a member");
      next.servers.push_back(Server{id, change.server.address, false});
      return next;
    case MembershipChangeKind::promote:
      if (found == next.servers.end()) return Status::not_found("server " + std::to_string(id) + " is not a member");
      if (found->voter) return Status::conflict("server " + std::to_string(id) + " is already a voter");
      found->voter = true;
      return next;
    case MembershipChangeKind::remove:
      if (found == next.servers.end()) return Status::not_found("server " + std::to_string(id) + " is not a member");
      if (found->voter && voter_count(next) == 1) return Status::conflict("cannot remove the last voter");
      next.servers.erase(found);
      return next;
  }
  return Status::invalid_argument("unknown membership change");
}

// Layout: count, then per server: id, voter, address length, address bytes
// (u64 little-endian each).
std::string encode_configuration(const Configuration& configuration) {
  std::string out;
  codec::put_u64(out, configuration.servers.size());
  for (const Server& server : configuration.servers) {
    codec::put_u64(out, server.id);
    codec::put_u64(out, server.voter ? 1 : 0);
    codec::put_u64(out, server.address.size());
    out += server.address;
  }
  return out;
}

Result<Configuration> decode_configuration(const std::string& bytes) {
  codec::Reader reader(bytes);
  uint64_t count = 0;
  if (!reader.u64(count) || count > 4096) return Status::invalid_argument("malformed configuration");
  Configuration configuration;
  for (uint64_t i = 0; i < count; ++i) {
    Server server;
    uint64_t voter = 0;
    uint64_t length = 0;
    std::string_view address;
    if (!reader.u64(server.id) || !reader.u64(voter) || !reader.u64(length) || voter > 1 ||
        !reader.bytes(length, address)) {
      return Status::invalid_argument("malformed configuration");
    }
    server.voter = voter == 1;
    server.address = std::string(address);
    configuration.servers.push_back(std::move(server));
  }
  if (!reader.done()) return Status::invalid_argument("malformed configuration: trailing bytes");
  return configuration;
}

void ConfigurationHistory::reset(Index snapshot_index, Configuration snapshot_configuration) {
  by_index_.clear();
  by_index_.emplace(snapshot_index, std::move(snapshot_configuration));
}

void ConfigurationHistory::add(Index index, Configuration configuration) {
  by_index_[index] = std::move(configuration);
}

void ConfigurationHistory::truncate_from(Index from) {
  // The base (the snapshot's) is never cut: a cut never reaches below it.
  auto it = by_index_.lower_bound(from);
  if (it == by_index_.begin()) ++it;
  by_index_.erase(it, by_index_.end());
}

void ConfigurationHistory::compact(Index index) {
  auto it = by_index_.upper_bound(index);
  if (it == by_index_.begin()) return;
  --it;  // the latest at or before index becomes the base
  by_index_.erase(by_index_.begin(), it);
}

const Configuration& ConfigurationHistory::at(Index index) const {
  auto it = by_index_.upper_bound(index);
  if (it == by_index_.begin()) return it->second;
  return std::prev(it)->second;
}

}  // namespace roster::raft
