#pragma once

// What the gossip layer keeps in the agent's data dir between runs:
// - gossip.keyring: the encryption keys, base64, primary first (a JSON list,
//   like Consul's serf/local.keyring). Written at first use of -encrypt and
//   after every keyring change; once it exists, it wins over -encrypt.
// - gossip-peers.json: this node's last incarnation and the gossip addresses
//   of the peers it last saw alive, so a restarted node rejoins by itself
//   (memberlist#222, serf#333) and never reuses an incarnation.
//
// Files are replaced atomically (write, fsync, rename). Reads treat the file
// as untrusted: a damaged file is an error, never a crash.

#include <optional>
#include <string>
#include <vector>

#include "agent/gossip/messages.h"
#include "agent/gossip/wire/keyring.h"
#include "common/status.h"

namespace roster::gossip {

inline constexpr const char* kKeyringFileName = "gossip.keyring";
inline constexpr const char* kPeersFileName = "gossip-peers.json";

struct PeerSnapshot {
  Incarnation incarnation = 0;
  std::vector<std::string> peers;  // "ip:port"
  bool operator==(const PeerSnapshot&) const = default;
};

// nullopt when the file does not exist. Errors: invalid_argument (not a JSON
// list of valid base64 AES-256 keys, or empty), internal (unreadable).
Result<std::optional<wire::Keyring>> load_keyring_file(const std::string& path);
// Mode 0600. Errors: internal.
Status save_keyring_file(const std::string& path, const wire::Keyring& keyring);

// nullopt when the file does not exist. Errors: invalid_argument, internal.
Result<std::optional<PeerSnapshot>> load_peer_snapshot(const std::string& path);
Status save_peer_snapshot(const std::string& path, const PeerSnapshot& snapshot);

}  // namespace roster::gossip
