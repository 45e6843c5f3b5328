#include "agent/gossip/wire/codec.h"

#include <arpa/inet.h>

#include <charconv>
#include <set>
#include <type_traits>
#include <utility>

#include "agent/gossip/varint_size.h"
#include "agent/gossip/wire/keyring.h"
#include "proto/gossip.pb.h"

namespace roster::gossip::wire {

namespace {

namespace pb = ::roster::proto;

// Field numbers of the repeated records that are streamed by hand; they must
// match proto/gossip.proto.
constexpr uint32_t kPacketMessagesField = 1;
constexpr uint32_t kPushPullJoinField = 1;
constexpr uint32_t kPushPullMembersField = 2;
constexpr uint32_t kPushPullEventLtimeField = 3;
constexpr uint32_t kPushPullEventsField = 4;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// --- protobuf wire format, top level only ------------------------------------
//
// Packets and push-pulls are walked record by record instead of parsed whole,
// so a count limit is enforced before the elements past it are allocated, and
// each element is parsed (by the generated code) from a bounded slice.


void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_record(std::string& out, uint32_t field, std::string_view body) {
  append_varint(out, (uint64_t{field} << 3) | kLengthDelimited);
  append_varint(out, body.size());
  out.append(body);
}

class RecordReader {
 public:
  explicit RecordReader(std::string_view bytes) : rest_(bytes) {}

  struct Record {
    uint32_t field = 0;
    uint32_t wire_type = 0;
    uint64_t varint = 0;     // kVarint
    std::string_view bytes;  // kLengthDelimited
  };

  bool done() const { return rest_.empty(); }

  // False on malformed input (bad varint, field 0, groups, reserved wire
  // types, a length past the end).
  bool next(Record& record) {
    uint64_t tag = 0;
    if (!read_varint(tag)) return false;
    const uint64_t field = tag >> 3;
    if (field == 0 || field > 0x1fffffff) return false;
    record.field = static_cast<uint32_t>(field);
    record.wire_type = static_cast<uint32_t>(tag & 7);
    switch (record.wire_type) {
      case kVarint:
        return read_varint(record.varint);
      case kFixed64:
        return skip(8);
      case kFixed32:
        return skip(4);
      case kLengthDelimited: {
        uint64_t length = 0;
        if (!read_varint(length) || length > rest_.size()) return false;
        record.bytes = rest_.substr(0, static_cast<size_t>(length));
        rest_.remove_prefix(static_cast<size_t>(length));
        return true;
      }
      default:
        return false;
    }
  }

 private:
  bool read_varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return false;
      const auto byte = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool skip(size_t count) {
    if (rest_.size() < count) return false;
    rest_.remove_prefix(count);
    return true;
  }

  std::string_view rest_;
};

// --- to protobuf ---------------------------------------------------------------

void put_member(const Member& member, pb::GossipMember* out) {
  out->set_name(member.name);
  out->set_id(member.id);
  out->set_address(member.address);
  out->set_incarnation(member.incarnation);
  // `leaving` is local news (messages.h): it goes out as alive.
  const MemberState state = member.state == MemberState::leaving ? MemberState::alive : member.state;
  out->set_state(static_cast<pb::GossipMemberState>(state));
  for (const auto& [key, value] : member.tags) {
    auto* tag = out->add_tags();
    tag->set_key(key);
    tag->set_value(value);
  }
}

void put_user_event(const UserEvent& event, pb::GossipUserEvent* out) {
  out->set_ltime(event.ltime);
  out->set_name(event.name);
  out->set_payload(event.payload);
  out->set_id(event.id);
  out->set_node_filter(event.node_filter);
  out->set_service_filter(event.service_filter);
  out->set_tag_filter(event.tag_filter);
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

void put_message(const Message& message, pb::GossipMessage* out) {
  std::visit(Overloaded{
                 [&](const Ping& ping) {
                   auto* body = out->mutable_ping();
                   body->set_sequence(ping.sequence);
                   body->set_target(ping.target);
                   body->set_source(ping.source);
                   body->set_source_address(ping.source_address);
                 },
                 [&](const IndirectPing& ping) {
                   auto* body = out->mutable_indirect_ping();
                   body->set_sequence(ping.sequence);
                   body->set_target(ping.target);
                   body->set_target_address(ping.target_address);
                   body->set_source(ping.source);
                   body->set_source_address(ping.source_address);
                   body->set_want_nack(ping.want_nack);
                 },
                 [&](const Ack& ack) {
                   auto* body = out->mutable_ack();
                   body->set_sequence(ack.sequence);
                   body->set_source(ack.source);
                 },
                 [&](const Nack& nack) {
                   auto* body = out->mutable_nack();
                   body->set_sequence(nack.sequence);
                   body->set_source(nack.source);
                 },
                 [&](const Alive& alive) { put_member(alive.member, out->mutable_alive()->mutable_member()); },
                 [&](const Suspect& suspect) {
                   auto* body = out->mutable_suspect();
                   body->set_name(suspect.name);
                   body->set_incarnation(suspect.incarnation);
                   body->set_from(suspect.from);
                 },
                 [&](const Dead& dead) {
                   auto* body = out->mutable_dead();
                   body->set_name(dead.name);
                   body->set_incarnation(dead.incarnation);
                   body->set_from(dead.from);
                 },
                 [&](const LeaveIntent& intent) {
                   auto* body = out->mutable_leave_intent();
                   body->set_name(intent.name);
                   body->set_incarnation(intent.incarnation);
                   body->set_from(intent.from);
                 },
                 [&](const UserEvent& event) { put_user_event(event, out->mutable_user_event()); },
             },
             message);
}

std::string encode_message_body(const Message& message) {
  pb::GossipMessage proto;
  put_message(message, &proto);
  return proto.SerializeAsString();
}

// --- from protobuf, validated ---------------------------------------------------
//
// too_large for a limit, invalid_argument for a shape; decode_* map the two
// to oversized and garbage. Values are never echoed: they may be binary or huge.

Status check_name(const char* what, const std::string& name, const DecodeLimits& limits, bool required) {
  if (required && name.empty()) return Status::invalid_argument(std::string(what) + " is empty");
  if (name.size() > limits.max_name_bytes) {
    return Status::too_large(std::string(what) + " is " + std::to_string(name.size()) + " bytes; the limit is " +
                             std::to_string(limits.max_name_bytes));
  }
  return Status::ok();
}

Status check_address(const char* what, const std::string& address, const DecodeLimits& limits, bool required) {
  if (address.empty()) {
    return required ? Status::invalid_argument(std::string(what) + " is empty") : Status::ok();
  }
  if (address.size() > limits.max_address_bytes) {
    return Status::too_large(std::string(what) + " is " + std::to_string(address.size()) + " bytes; the limit is " +
                             std::to_string(limits.max_address_bytes));
  }
  if (!is_ip_port(address)) return Status::invalid_argument(std::string(what) + " is not ip:port");
  return Status::ok();
}

Status to_member(const pb::GossipMember& in, const DecodeLimits& limits, Member& out) {
  if (Status s = check_name("member name", in.name(), limits, true); !s.is_ok()) return s;
  if (in.id().size() > limits.max_id_bytes) {
    return Status::too_large("member id is " + std::to_string(in.id().size()) + " bytes; the limit is " +
                             std::to_string(limits.max_id_bytes));
  }
  if (Status s = check_address("member address", in.address(), limits, true); !s.is_ok()) return s;
  const int state = static_cast<int>(in.state());
  if (state < 0 || state > static_cast<int>(MemberState::left)) {
    return Status::invalid_argument("member state " + std::to_string(state) + " is unknown");
  }
  if (static_cast<size_t>(in.tags_size()) > limits.max_tags) {
    return Status::too_large("member has " + std::to_string(in.tags_size()) + " tags; the limit is " +
                             std::to_string(limits.max_tags));
  }
  size_t tag_bytes = 0;
  for (const auto& tag : in.tags()) tag_bytes += tag.key().size() + tag.value().size();
  if (tag_bytes > limits.max_tag_bytes) {
    return Status::too_large("member tags are " + std::to_string(tag_bytes) + " bytes; the limit is " +
                             std::to_string(limits.max_tag_bytes));
  }
  out.name = in.name();
  out.id = in.id();
  out.address = in.address();
  out.incarnation = in.incarnation();
  out.state = static_cast<MemberState>(state);
  out.tags.clear();
  for (const auto& tag : in.tags()) {
    if (tag.key().empty()) return Status::invalid_argument("member has a tag with an empty key");
    if (!out.tags.emplace(tag.key(), tag.value()).second) {
      return Status::invalid_argument("member has a duplicate tag key");
    }
  }
  return Status::ok();
}

Status to_user_event(const pb::GossipUserEvent& in, const DecodeLimits& limits, UserEvent& out) {
  if (Status s = check_name("user event name", in.name(), limits, true); !s.is_ok()) return s;
  if (in.id().size() > limits.max_id_bytes) {
    return Status::too_large("user event id is " + std::to_string(in.id().size()) + " bytes; the limit is " +
                             std::to_string(limits.max_id_bytes));
  }
  const size_t bytes = in.name().size() + in.payload().size() + in.id().size() + in.node_filter().size() +
                       in.service_filter().size() + in.tag_filter().size();
  if (bytes > limits.max_user_event_bytes) {
    return Status::too_large("user event is " + std::to_string(bytes) + " bytes; the limit is " +
                             std::to_string(limits.max_user_event_bytes));
  }
  out = UserEvent{in.ltime(),       in.name(),           in.payload(),   in.id(),
                  in.node_filter(), in.service_filter(), in.tag_filter()};
  return Status::ok();
}

Status to_message(const pb::GossipMessage& in, const DecodeLimits& limits, Message& out) {
  switch (in.body_case()) {
    case pb::GossipMessage::kPing: {
      const auto& body = in.ping();
      Ping ping;
      if (Status s = check_name("ping target", body.target(), limits, false); !s.is_ok()) return s;
      if (Status s = check_name("ping source", body.source(), limits, false); !s.is_ok()) return s;
      if (Status s = check_address("ping source address", body.source_address(), limits, false); !s.is_ok()) {
        return s;
      }
      ping.sequence = body.sequence();
      ping.target = body.target();
      ping.source = body.source();
      ping.source_address = body.source_address();
      out = std::move(ping);
      return Status::ok();
    }
    case pb::GossipMessage::kIndirectPing: {
      const auto& body = in.indirect_ping();
      IndirectPing ping;
      if (Status s = check_name("indirect ping target", body.target(), limits, false); !s.is_ok()) return s;
      if (Status s = check_address("indirect ping target address", body.target_address(), limits, true);
          !s.is_ok()) {
        return s;
      }
      if (Status s = check_name("indirect ping source", body.source(), limits, false); !s.is_ok()) return s;
      if (Status s = check_address("indirect ping source address", body.source_address(), limits, false);
          !s.is_ok()) {
        return s;
      }
      ping.sequence = body.sequence();
      ping.target = body.target();
      ping.target_address = body.target_address();
      ping.source = body.source();
      ping.source_address = body.source_address();
      ping.want_nack = body.want_nack();
      out = std::move(ping);
      return Status::ok();
    }
    case pb::GossipMessage::kAck: {
      if (Status s = check_name("ack source", in.ack().source(), limits, false); !s.is_ok()) return s;
      out = Ack{in.ack().sequence(), in.ack().source()};
      return Status::ok();
    }
    case pb::GossipMessage::kNack: {
      if (Status s = check_name("nack source", in.nack().source(), limits, false); !s.is_ok()) return s;
      out = Nack{in.nack().sequence(), in.nack().source()};
      return Status::ok();
    }
    case pb::GossipMessage::kAlive: {
      if (!in.alive().has_member()) return Status::invalid_argument("alive carries no member");
      Alive alive;
      if (Status s = to_member(in.alive().member(), limits, alive.member); !s.is_ok()) return s;
      out = std::move(alive);
      return Status::ok();
    }
    case pb::GossipMessage::kSuspect: {
      const auto& body = in.suspect();
      if (Status s = check_name("suspect name", body.name(), limits, true); !s.is_ok()) return s;
      if (Status s = check_name("suspect from", body.from(), limits, false); !s.is_ok()) return s;
      out = Suspect{body.name(), body.incarnation(), body.from()};
      return Status::ok();
    }
    case pb::GossipMessage::kDead: {
      const auto& body = in.dead();
      if (Status s = check_name("dead name", body.name(), limits, true); !s.is_ok()) return s;
      if (Status s = check_name("dead from", body.from(), limits, false); !s.is_ok()) return s;
      out = Dead{body.name(), body.incarnation(), body.from()};
      return Status::ok();
    }
    case pb::GossipMessage::kLeaveIntent: {
      const auto& body = in.leave_intent();
      if (Status s = check_name("leave intent name", body.name(), limits, true); !s.is_ok()) return s;
      if (Status s = check_name("leave intent from", body.from(), limits, false); !s.is_ok()) return s;
      out = LeaveIntent{body.name(), body.incarnation(), body.from()};
      return Status::ok();
    }
    case pb::GossipMessage::kUserEvent: {
      UserEvent event;
      if (Status s = to_user_event(in.user_event(), limits, event); !s.is_ok()) return s;
      out = std::move(event);
      return Status::ok();
    }
    case pb::GossipMessage::BODY_NOT_SET:
      break;
  }
  return Status::invalid_argument("unknown message type");
}

Status fail(DecodeReport& report, WireError error, Status status) {
  report.error = error;
  return status;
}

// A validation failure: limits are "oversized", shapes are "garbage".
Status fail(DecodeReport& report, Status status) {
  return fail(report, status.code() == StatusCode::too_large ? WireError::oversized : WireError::garbage,
              std::move(status));
}

// The most bytes a valid member record can take: every field at its limit,
// plus per-tag and per-field framing. Records above it are refused before
// they are parsed, so one member cannot make the parser allocate for
// millions of tags.
size_t max_member_record_bytes(const DecodeLimits& limits) {
  return limits.max_name_bytes + limits.max_id_bytes + limits.max_address_bytes + limits.max_tag_bytes +
         limits.max_tags * 12 + 64;
}

}  // namespace

bool is_ip_port(std::string_view address) {
  std::string_view host;
  std::string_view port;
  int family = AF_INET;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find("]:");
    if (close == std::string_view::npos) return false;
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    family = AF_INET6;
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // IPv6 must be bracketed
  }
  if (host.empty() || host.size() > 63 || port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return false;
  char host_text[64] = {};
  host.copy(host_text, host.size());
  unsigned char parsed[16];
  return inet_pton(family, host_text, parsed) == 1;
}

std::string encode_packet(const Packet& packet) {
  std::string out;
  for (const auto& message : packet.messages) append_record(out, kPacketMessagesField, encode_message_body(message));
  return out;
}

size_t encoded_size(const Message& message) {
  pb::GossipMessage proto;
  put_message(message, &proto);
  const size_t body = proto.ByteSizeLong();
  return varint_size((uint64_t{kPacketMessagesField} << 3) | kLengthDelimited) + varint_size(body) + body;
}

std::vector<std::string> pack(const std::vector<Message>& messages, size_t max_packet_bytes,
                              std::vector<Message>* too_large) {
  std::vector<std::string> packets;
  std::string current;
  std::string record;
  for (const auto& message : messages) {
    record.clear();
    append_record(record, kPacketMessagesField, encode_message_body(message));
    if (record.size() > max_packet_bytes) {
      if (too_large) too_large->push_back(message);
      continue;
    }
    if (current.size() + record.size() > max_packet_bytes) packets.push_back(std::exchange(current, {}));
    current += record;
  }
  if (!current.empty()) packets.push_back(std::move(current));
  return packets;
}

Result<Packet> decode_packet(std::string_view bytes, const DecodeLimits& limits, DecodeReport* report) {
  DecodeReport local;
  DecodeReport& out = report ? *report : local;
  out = {};
  if (bytes.size() > limits.max_packet_bytes) {
    return fail(out, WireError::oversized,
                Status::too_large("packet is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                  std::to_string(limits.max_packet_bytes)));
  }
  RecordReader reader(bytes);
  RecordReader::Record record;
  pb::GossipMessage proto;
  Packet packet;
  size_t records = 0;
  while (!reader.done()) {
    if (!reader.next(record)) return fail(out, WireError::garbage, Status::invalid_argument("malformed packet"));
    if (record.field != kPacketMessagesField) continue;
    if (record.wire_type != kLengthDelimited) {
      return fail(out, WireError::garbage, Status::invalid_argument("malformed packet: messages of the wrong type"));
    }
    if (++records > limits.max_messages) {
      return fail(out, WireError::oversized,
                  Status::too_large("packet has more than " + std::to_string(limits.max_messages) + " messages"));
    }
    proto.Clear();
    if (!proto.ParseFromArray(record.bytes.data(), static_cast<int>(record.bytes.size()))) {
      return fail(out, WireError::garbage, Status::invalid_argument("malformed message"));
    }
    if (proto.body_case() == pb::GossipMessage::BODY_NOT_SET) {
      ++out.unknown_messages;
      continue;
    }
    Message message;
    if (Status s = to_message(proto, limits, message); !s.is_ok()) return fail(out, std::move(s));
    packet.messages.push_back(std::move(message));
  }
  if (packet.messages.empty()) {
    if (out.unknown_messages > 0) {
      return fail(out, WireError::unknown_type, Status::invalid_argument("unknown message type"));
    }
    return fail(out, WireError::garbage, Status::invalid_argument("empty packet"));
  }
  return packet;
}

std::string encode_push_pull(const PushPull& push_pull) {
  std::string out;
  if (push_pull.join) {
    append_varint(out, (uint64_t{kPushPullJoinField} << 3) | kVarint);
    append_varint(out, 1);
  }
  pb::GossipMember proto;
  std::string body;
  for (const auto& member : push_pull.members) {
    proto.Clear();
    put_member(member, &proto);
    body.clear();
    proto.SerializeToString(&body);
    append_record(out, kPushPullMembersField, body);
  }
  if (push_pull.event_ltime != 0) {
    append_varint(out, (uint64_t{kPushPullEventLtimeField} << 3) | kVarint);
    append_varint(out, push_pull.event_ltime);
  }
  pb::GossipUserEvent event_proto;
  for (const auto& event : push_pull.events) {
    event_proto.Clear();
    put_user_event(event, &event_proto);
    body.clear();
    event_proto.SerializeToString(&body);
    append_record(out, kPushPullEventsField, body);
  }
  return out;
}

Result<PushPull> decode_push_pull(std::string_view bytes, const DecodeLimits& limits, DecodeReport* report) {
  DecodeReport local;
  DecodeReport& out = report ? *report : local;
  out = {};
  if (bytes.size() > limits.max_push_pull_bytes) {
    return fail(out, WireError::oversized,
                Status::too_large("push-pull is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                  std::to_string(limits.max_push_pull_bytes)));
  }
  const size_t max_record = max_member_record_bytes(limits);
  RecordReader reader(bytes);
  RecordReader::Record record;
  pb::GossipMember proto;
  PushPull push_pull;
  while (!reader.done()) {
    if (!reader.next(record)) return fail(out, WireError::garbage, Status::invalid_argument("malformed push-pull"));
    if (record.field == kPushPullJoinField) {
      if (record.wire_type != kVarint) {
        return fail(out, WireError::garbage, Status::invalid_argument("malformed push-pull: join of the wrong type"));
      }
      push_pull.join = record.varint != 0;
      continue;
    }
    if (record.field == kPushPullEventLtimeField) {
      if (record.wire_type != kVarint) {
        return fail(out, WireError::garbage,
                    Status::invalid_argument("malformed push-pull: event time of the wrong type"));
      }
      push_pull.event_ltime = record.varint;
      continue;
    }
    if (record.field == kPushPullEventsField) {
      if (record.wire_type != kLengthDelimited) {
        return fail(out, WireError::garbage, Status::invalid_argument("malformed push-pull: events of the wrong type"));
      }
      if (push_pull.events.size() >= limits.max_push_pull_events) {
        return fail(out, WireError::oversized,
                    Status::too_large("push-pull has more than " + std::to_string(limits.max_push_pull_events) +
                                      " user events"));
      }
      // Fields and framing: a record past this is refused before it is parsed.
      if (record.bytes.size() > limits.max_user_event_bytes + 64) {
        return fail(out, WireError::oversized, Status::too_large("push-pull user event record is too large"));
      }
      pb::GossipUserEvent event_proto;
      if (!event_proto.ParseFromArray(record.bytes.data(), static_cast<int>(record.bytes.size()))) {
        return fail(out, WireError::garbage, Status::invalid_argument("malformed push-pull user event"));
      }
      UserEvent event;
      if (Status s = to_user_event(event_proto, limits, event); !s.is_ok()) return fail(out, std::move(s));
      push_pull.events.push_back(std::move(event));
      continue;
    }
    if (record.field != kPushPullMembersField) continue;
    if (record.wire_type != kLengthDelimited) {
      return fail(out, WireError::garbage, Status::invalid_argument("malformed push-pull: members of the wrong type"));
    }
    if (push_pull.members.size() >= limits.max_members) {
      return fail(out, WireError::oversized,
                  Status::too_large("push-pull has more than " + std::to_string(limits.max_members) + " members"));
    }
    if (record.bytes.size() > max_record) {
      return fail(out, WireError::oversized,
                  Status::too_large("push-pull member record is " + std::to_string(record.bytes.size()) +
                                    " bytes; the limit is " + std::to_string(max_record)));
    }
    proto.Clear();
    if (!proto.ParseFromArray(record.bytes.data(), static_cast<int>(record.bytes.size()))) {
      return fail(out, WireError::garbage, Status::invalid_argument("malformed push-pull member"));
    }
    Member member;
    if (Status s = to_member(proto, limits, member); !s.is_ok()) return fail(out, std::move(s));
    push_pull.members.push_back(std::move(member));
  }
  return push_pull;
}

// ---------------------------------------------------------------- keyring

namespace {

Result<pb::GossipKeyringMessage> parse_keyring(std::string_view bytes, DecodeReport& out) {
  if (bytes.size() > kMaxKeyringBytes) {
    return fail(out, WireError::oversized,
                Status::too_large("keyring message is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                  std::to_string(kMaxKeyringBytes)));
  }
  pb::GossipKeyringMessage message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fail(out, WireError::garbage, Status::invalid_argument("malformed keyring message"));
  }
  return message;
}

}  // namespace

std::string encode_keyring_request(const KeyringRequest& request) {
  pb::GossipKeyringMessage message;
  auto* body = message.mutable_request();
  body->set_op(static_cast<pb::GossipKeyringOp>(request.op));
  body->set_key(request.key);
  return message.SerializeAsString();
}

Result<KeyringRequest> decode_keyring_request(std::string_view bytes, DecodeReport* report) {
  DecodeReport local;
  DecodeReport& out = report ? *report : local;
  out = {};
  auto message = parse_keyring(bytes, out);
  if (!message.is_ok()) return message.status();
  if (!message->has_request()) return fail(out, WireError::garbage, Status::invalid_argument("not a keyring request"));
  const auto& body = message->request();
  if (body.op() < pb::GOSSIP_KEYRING_LIST || body.op() > pb::GOSSIP_KEYRING_REMOVE) {
    return fail(out, WireError::garbage, Status::invalid_argument("unknown keyring operation"));
  }
  KeyringRequest request{static_cast<KeyringOp>(body.op()), body.key()};
  const bool needs_key = request.op != KeyringOp::list;
  if (needs_key ? request.key.size() != kKeyBytes : !request.key.empty()) {
    return fail(out, WireError::garbage,
                Status::invalid_argument(std::string("keyring ") + keyring_op_name(request.op) + " with a key of " +
                                         std::to_string(request.key.size()) + " bytes"));
  }
  return request;
}

std::string encode_keyring_reply(const KeyringReply& reply) {
  pb::GossipKeyringMessage message;
  auto* body = message.mutable_reply();
  body->set_node(reply.node);
  body->set_ok(reply.ok);
  body->set_error(reply.error);
  for (const std::string& key : reply.keys) body->add_keys(key);
  return message.SerializeAsString();
}

Result<KeyringReply> decode_keyring_reply(std::string_view bytes, const DecodeLimits& limits, DecodeReport* report) {
  DecodeReport local;
  DecodeReport& out = report ? *report : local;
  out = {};
  auto message = parse_keyring(bytes, out);
  if (!message.is_ok()) return message.status();
  if (!message->has_reply()) return fail(out, WireError::garbage, Status::invalid_argument("not a keyring reply"));
  const auto& body = message->reply();
  if (Status s = check_name("keyring reply node", body.node(), limits, true); !s.is_ok()) return fail(out, s);
  KeyringReply reply{body.node(), body.ok(), body.error(), {}};
  for (const std::string& key : body.keys()) {
    if (key.size() != kKeyBytes) {
      return fail(out, WireError::garbage, Status::invalid_argument("keyring reply lists a key of " +
                                                                    std::to_string(key.size()) + " bytes"));
    }
    reply.keys.push_back(key);
  }
  return reply;
}

}  // namespace roster::gossip::wire
