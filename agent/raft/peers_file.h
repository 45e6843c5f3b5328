#pragma once

// peers.json: the configuration an operator forces on a server after the
// cluster lost its quorum for good (Consul's manual recovery, hashicorp/raft's
// RecoverCluster). Every change to the configuration needs a quorum, so once a
// majority of the voters is gone nothing inside Raft can shrink it; the
// operator stops the survivors, writes the same file on each, and starts them.
//
// Format (Consul's, raft protocol 3): a JSON array of servers,
//
//   [{"id": "adf4238a-882b-9ddc-4a9d-5b6758e4159e", "address": "10.1.0.1:8300", "non_voter": false}]
//
// `id` as `roster operator raft list-peers` shows it (how it maps to a
// ServerId is the caller's: see PeerIdParser); `address` an "ip:port";
// `non_voter` optional, false when absent. Other keys are ignored, as Consul
// does. Consul's older format (raft protocol 2, an array of address strings)
// is refused with a message saying so.
//
// What a server does with the file is RaftNode's (raft_node.h, "Recovery").
// Pure: parsing only, no I/O.

#include <functional>
#include <string>
#include <string_view>

#include "agent/raft/types.h"
#include "common/status.h"

namespace roster::raft {

// The file's name inside a RaftNode's data directory.
inline constexpr std::string_view kPeersFileName = "peers.json";

// Turns a peers.json "id" into the server it names, or says why it cannot
// (the message is shown to the operator after the entry's position).
using PeerIdParser = std::function<Result<ServerId>(const std::string& id)>;

// The default parser: the Raft server number in decimal (never 0).
Result<ServerId> parse_server_number(const std::string& id);

// The configuration the file lists, in the file's order. invalid_argument,
// with a message naming the entry and the problem, when the text is not JSON,
// not an array, lists no server or no voter, or an entry lacks an id or an
// ip:port address, has a non_voter that is not a boolean, or repeats another
// entry's server or address.
Result<Configuration> parse_peers_file(std::string_view text, const PeerIdParser& id_of);

}  // namespace roster::raft
