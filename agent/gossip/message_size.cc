#include "agent/gossip/message_size.h"

#include <cstdint>
#include <string>
#include <type_traits>

#include "agent/gossip/varint_size.h"

namespace roster::gossip {
namespace {

// Exact protobuf lengths for field numbers below 16 (one-byte keys). Zero
// values, which proto3 leaves out, are counted anyway: an upper bound.
size_t length_delimited(size_t length) { return 1 + varint_size(length) + length; }
size_t bytes_field(const std::string& value) { return length_delimited(value.size()); }
constexpr size_t kUint32Field = 1 + 5;
constexpr size_t kUint64Field = 1 + 10;
constexpr size_t kEnumField = 1 + 1;
constexpr size_t kBoolField = 2;

}  // namespace

size_t estimated_size(const TagMap& tags) {
  size_t total = 0;
  for (const auto& [key, value] : tags) total += length_delimited(bytes_field(key) + bytes_field(value));
  return total;
}

size_t estimated_size(const Member& member) {
  return bytes_field(member.name) + bytes_field(member.id) + bytes_field(member.address) + kUint64Field +
         kEnumField + estimated_size(member.tags);
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
          return length_delimited(estimated_size(m.member));
        } else if constexpr (std::is_same_v<T, UserEvent>) {
          return kUint64Field + bytes_field(m.name) + bytes_field(m.payload) + bytes_field(m.id) +
                 bytes_field(m.node_filter) + bytes_field(m.service_filter) + bytes_field(m.tag_filter);
        } else {  // Suspect, Dead, LeaveIntent
          return bytes_field(m.name) + kUint64Field + bytes_field(m.from);
        }
      },
      message);
  // The GossipMessage record in the packet, around the oneof record around the body.
  return length_delimited(length_delimited(body));
}

}  // namespace roster::gossip
