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

// `leaving` is Serf's StatusLeaving: a live member that someone asked to
// leave (a force-leave). Swim reports it and probes it as a live member; it
// never goes on the wire (push-pull sends it as alive), so older peers read
// every state a newer one sends.
enum class MemberState : uint8_t { alive = 0, suspect = 1, dead = 2, left = 3, leaving = 4 };
const char* member_state_name(MemberState state);  // "alive", "suspect", "failed", "left", "leaving"

// Serf's Lamport time for user events (its eventClock).
using LamportTime = uint64_t;

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

// Serf's leave intent on a member's behalf (`force-leave`, sent by `from`):
// a failed member becomes left; a live one becomes leaving, and refutes it
// by announcing itself above `incarnation`.
struct LeaveIntent {
  std::string name;
  Incarnation incarnation = 0;
  std::string from;
  bool operator==(const LeaveIntent&) const = default;
};

// Serf's user event, with the fields Consul's agent adds (its UserEvent):
// `id` (a UUID) and the filters, which the agent applies on delivery. Two
// copies are the same event when every field is equal; Serf compares the
// name and payload, into which Consul encodes all the rest.
struct UserEvent {
  LamportTime ltime = 0;
  std::string name;
  std::string payload;
  std::string id;
  std::string node_filter;     // regular expressions, as the firer gave them
  std::string service_filter;
  std::string tag_filter;
  bool operator==(const UserEvent&) const = default;
};

using Message = std::variant<Ping, IndirectPing, Ack, Nack, Alive, Suspect, Dead, LeaveIntent, UserEvent>;

// One UDP datagram: several messages packed up to the packet size limit.
struct Packet {
  std::vector<Message> messages;
  bool operator==(const Packet&) const = default;
};

// --- full-state exchange (TCP) ---

struct PushPull {
  bool join = false;  // the sender is joining: the receiver should answer at once
  std::vector<Member> members;
  // Serf's user-event catch-up: the sender's event clock and the events in
  // its buffer, so a node that missed a broadcast (a partition) gets it.
  LamportTime event_ltime = 0;
  std::vector<UserEvent> events = {};
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
