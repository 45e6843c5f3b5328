#pragma once

// SWIM's messages as plain data. The state machine (swim.h) consumes and
// produces these; the codec (codec.h) turns them into bytes of the schemas in
// proto/gossip.proto; the transport moves the bytes. None of them is trusted:
// everything decoded from the network has been length- and range-checked.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace roster::gossip {

using Incarnation = uint64_t;
using TagMap = std::map<std::string, std::string>;

enum class MemberState : uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
const char* member_state_name(MemberState state);  // "alive", "suspect", "failed", "left"

// One node as the pool knows it. `address` is "ip:port" of its gossip port.
struct Member {
  std::string name;
  std::string id;  // the node ID (UUID); a different ID under a known name is a collision
  std::string address;
  Incarnation incarnation = 0;
  MemberState state = MemberState::alive;
  TagMap tags;
  bool operator==(const Member&) const = default;
};

// --- probe messages (UDP) ---

// Direct probe. `target` names the node the sender means to reach, so a node
// that now has the address of a departed one can tell the sender so.
struct Ping {
  uint32_t sequence = 0;
  std::string target;
  std::string source;          // sender's name
  std::string source_address;  // where to ack
  bool operator==(const Ping&) const = default;
};

// Ask a peer to probe `target` on our behalf (SWIM's ping-req). With
// `want_nack`, the peer answers Nack when it got no ack in time (Lifeguard).
struct IndirectPing {
  uint32_t sequence = 0;
  std::string target;
  std::string target_address;
  std::string source;
  std::string source_address;
  bool want_nack = true;
  bool operator==(const IndirectPing&) const = default;
};

struct Ack {
  uint32_t sequence = 0;
  std::string source;
  bool operator==(const Ack&) const = default;
};

struct Nack {
  uint32_t sequence = 0;
  std::string source;
  bool operator==(const Nack&) const = default;
};

// --- broadcasts (piggybacked on probes) ---

struct Alive {
  Member member;  // state is ignored; alive by definition
  bool operator==(const Alive&) const = default;
};

struct Suspect {
  std::string name;
  Incarnation incarnation = 0;
  std::string from;  // who suspects; independent confirmations shrink the timeout
  bool operator==(const Suspect&) const = default;
};

// `from == name` means the node left gracefully.
struct Dead {
  std::string name;
  Incarnation incarnation = 0;
  std::string from;
  bool operator==(const Dead&) const = default;
};

using Message = std::variant<Ping, IndirectPing, Ack, Nack, Alive, Suspect, Dead>;

// One UDP datagram: several messages packed up to the packet size limit.
struct Packet {
  std::vector<Message> messages;
  bool operator==(const Packet&) const = default;
};

// --- full-state exchange (TCP) ---

struct PushPull {
  bool join = false;  // the sender is joining: the receiver should answer at once
  std::vector<Member> members;
  bool operator==(const PushPull&) const = default;
};

// --- keyring operations (TCP, encrypted only) ---

enum class KeyringOp : uint8_t { list, install, use, remove };

// "list", "install", ... (inline: the wire codec uses it without Swim's library)
inline const char* keyring_op_name(KeyringOp op) {
  switch (op) {
    case KeyringOp::list: return "list";
    case KeyringOp::install: return "install";
    case KeyringOp::use: return "use";
    case KeyringOp::remove: return "remove";
  }
  return "unknown";
}

struct KeyringRequest {
  KeyringOp op = KeyringOp::list;
  std::string key;  // 32 raw bytes; empty for list
  bool operator==(const KeyringRequest&) const = default;
};

struct KeyringReply {
  std::string node;  // who answers
  bool ok = false;
  std::string error;              // when !ok
  std::vector<std::string> keys;  // the keyring afterwards, raw, the primary first
  bool operator==(const KeyringReply&) const = default;
};

}  // namespace roster::gossip
