#include "agent/gossip/message_size.h"

#include <string>
#include <type_traits>

namespace roster::gossip {
namespace {

// A field's key is one byte for field numbers below 16; a length or varint
// takes at most 5 bytes for 32-bit values and 10 for 64-bit ones.
size_t bytes_field(const std::string& value) { return 1 + 5 + value.size(); }
constexpr size_t kUint32Field = 1 + 5;
constexpr size_t kUint64Field = 1 + 10;
constexpr size_t kBoolField = 2;
// GossipPacket.messages record + the oneof record inside GossipMessage.
constexpr size_t kMessageFraming = 2 * (1 + 5);

}  // namespace

size_t estimated_size(const TagMap& tags) {
  size_t total = 0;
  for (const auto& [key, value] : tags) total += 1 + 5 + bytes_field(key) + bytes_field(value);
  return total;
}

size_t estimated_size(const Member& member) {
  return bytes_field(member.name) + bytes_field(member.id) + bytes_field(member.address) + kUint64Field +
         kUint32Field + estimated_size(member.tags);
}

size_t estimated_size(const Message& message) {
  size_t body = std::visit(
      [](const auto& m) -> size_t {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Ping>) {
          return kUint32Field + bytes_field(m.target) + bytes_field(m.source) + bytes_field(m.source_address);
        } else if constexpr (std::is_same_v<T, IndirectPing>) {
          return kUint32Field + bytes_field(m.target) + bytes_field(m.target_address) + bytes_field(m.source) +
                 bytes_field(m.source_address) + kBoolField;
        } else if constexpr (std::is_same_v<T, Ack> || std::is_same_v<T, Nack>) {
          return kUint32Field + bytes_field(m.source);
        } else if constexpr (std::is_same_v<T, Alive>) {
          return 1 + 5 + estimated_size(m.member);
        } else {  // Suspect, Dead
          return bytes_field(m.name) + kUint64Field + bytes_field(m.from);
        }
      },
      message);
  return kMessageFraming + body;
}

}  // namespace roster::gossip
