#include "agent/gossip/wire/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "proto/gossip.pb.h"
#include "tests/agent/gossip/wire/test_messages.h"

namespace roster::gossip::wire {
namespace {

using testing::every_message;
using testing::sample_member;

// A packet record (field 1, length-delimited) around a raw message body.
std::string record(std::string_view body) {
  std::string out;
  out.push_back(0x0a);
  out.push_back(static_cast<char>(body.size()));  // bodies here are < 128 bytes
  out.append(body);
  return out;
}

// A GossipMessage whose only field is number 99: a message type from a newer version.
const std::string kUnknownMessageBody = "\x98\x06\x01";

TEST(CodecTest, EveryMessageTypeRoundTrips) {
  for (const auto& message : every_message()) {
    Packet packet{{message}};
    auto decoded = decode_packet(encode_packet(packet), DecodeLimits{});
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string() << " for message index " << message.index();
    EXPECT_EQ(*decoded, packet);
  }
}

TEST(CodecTest, DefaultAndEmptyFieldsRoundTrip) {
  Packet packet{{Ping{}, Ack{}, Nack{}, IndirectPing{0, "", "127.0.0.1:1", "", "", false},
                 Suspect{"a", 0, ""}, Dead{"b", 0, ""}}};
  auto decoded = decode_packet(encode_packet(packet), DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, packet);
}

TEST(CodecTest, ManyMessagesKeepTheirOrder) {
  Packet packet;
  for (const auto& message : every_message()) packet.messages.push_back(message);
  for (uint32_t i = 0; i < 20; ++i) packet.messages.push_back(Ping{i, "t", "s", "127.0.0.1:8301"});
  auto decoded = decode_packet(encode_packet(packet), DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, packet);
}

TEST(CodecTest, EveryMemberStateRoundTrips) {
  PushPull push_pull;
  for (auto state : {MemberState::alive, MemberState::suspect, MemberState::dead, MemberState::left}) {
    Member member = sample_member("n" + std::to_string(static_cast<int>(state)));
    member.state = state;
    member.incarnation = UINT64_MAX;
    push_pull.members.push_back(member);
  }
  auto decoded = decode_push_pull(encode_push_pull(push_pull), DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, push_pull);
}

// The codec streams top-level records by hand; its bytes must be exactly
// what the generated code for proto/gossip.proto reads and writes.
TEST(CodecTest, BytesMatchTheGeneratedSchema) {
  const Packet packet{every_message()};
  const std::string encoded = encode_packet(packet);
  ::roster::proto::GossipPacket proto_packet;
  ASSERT_TRUE(proto_packet.ParseFromString(encoded));
  ASSERT_EQ(proto_packet.messages_size(), static_cast<int>(packet.messages.size()));
  EXPECT_EQ(proto_packet.messages(4).alive().member().tags_size(), 3);
  EXPECT_EQ(proto_packet.SerializeAsString(), encoded);

  const PushPull push_pull{true, {sample_member("a"), sample_member("b")}};
  const std::string encoded_push_pull = encode_push_pull(push_pull);
  ::roster::proto::GossipPushPull proto_push_pull;
  ASSERT_TRUE(proto_push_pull.ParseFromString(encoded_push_pull));
  EXPECT_TRUE(proto_push_pull.join());
  ASSERT_EQ(proto_push_pull.members_size(), 2);
  EXPECT_EQ(proto_push_pull.members(1).name(), "b");
  EXPECT_EQ(proto_push_pull.SerializeAsString(), encoded_push_pull);
}

TEST(CodecTest, PushPullRoundTripsWithJoinAndManyMembers) {
  PushPull push_pull;
  push_pull.join = true;
  for (int i = 0; i < 1000; ++i) push_pull.members.push_back(sample_member("node-" + std::to_string(i)));
  auto decoded = decode_push_pull(encode_push_pull(push_pull), DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, push_pull);

  auto empty = decode_push_pull(encode_push_pull(PushPull{}), DecodeLimits{});
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(*empty, PushPull{});
}

TEST(CodecTest, PushPullCarriesTheEventClockAndEvents) {
  PushPull push_pull{false, {sample_member("a")}};
  push_pull.event_ltime = 1234;
  for (const Message& message : every_message()) {
    if (const UserEvent* event = std::get_if<UserEvent>(&message)) push_pull.events.push_back(*event);
  }
  push_pull.events.push_back(UserEvent{5, "restart", "", "", "", "", ""});
  const std::string encoded = encode_push_pull(push_pull);
  auto decoded = decode_push_pull(encoded, DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, push_pull);
  ::roster::proto::GossipPushPull proto_push_pull;
  ASSERT_TRUE(proto_push_pull.ParseFromString(encoded));
  EXPECT_EQ(proto_push_pull.event_ltime(), 1234u);
  ASSERT_EQ(proto_push_pull.events_size(), 2);
  EXPECT_EQ(proto_push_pull.events(0).name(), "deploy");

  DecodeLimits limits;
  limits.max_push_pull_events = 1;
  DecodeReport report;
  EXPECT_FALSE(decode_push_pull(encoded, limits, &report).is_ok());
  EXPECT_EQ(report.error, WireError::oversized);
}

TEST(CodecTest, LeavingGoesOnTheWireAsAlive) {
  Member member = sample_member("a");
  member.state = MemberState::leaving;
  auto decoded = decode_push_pull(encode_push_pull(PushPull{false, {member}}), DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->members[0].state, MemberState::alive);
}

TEST(CodecTest, RefusesOversizedOrNamelessUserEvents) {
  DecodeLimits limits;
  limits.max_user_event_bytes = 64;
  DecodeReport report;
  auto decoded = decode_packet(encode_packet(Packet{{UserEvent{1, "big", std::string(100, 'x'), "", "", "", ""}}}),
                               limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::oversized);
  decoded = decode_packet(encode_packet(Packet{{UserEvent{1, "", "x", "", "", "", ""}}}), DecodeLimits{}, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::garbage);
}

TEST(CodecTest, EncodedSizeIsExactAndAdditive) {
  Packet packet;
  size_t sum = 0;
  for (const auto& message : every_message()) {
    EXPECT_EQ(encoded_size(message), encode_packet(Packet{{message}}).size());
    packet.messages.push_back(message);
    sum += encoded_size(message);
  }
  // A 200-byte body needs a two-byte length.
  Message big = Ping{1, std::string(200, 't'), "s", ""};
  EXPECT_EQ(encoded_size(big), encode_packet(Packet{{big}}).size());
  packet.messages.push_back(big);
  sum += encoded_size(big);
  EXPECT_EQ(encode_packet(packet).size(), sum);
}

TEST(CodecTest, PackKeepsEveryPacketWithinTheLimitAndLosesNothing) {
  std::vector<Message> messages;
  for (int round = 0; round < 30; ++round) {
    for (const auto& message : every_message()) messages.push_back(message);
  }
  for (size_t limit : {size_t{200}, size_t{512}, size_t{1400}}) {
    std::vector<Message> too_large;
    auto packets = pack(messages, limit, &too_large);
    EXPECT_TRUE(too_large.empty());
    std::vector<Message> unpacked;
    for (const auto& bytes : packets) {
      EXPECT_LE(bytes.size(), limit);
      auto decoded = decode_packet(bytes, DecodeLimits{});
      ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
      unpacked.insert(unpacked.end(), decoded->messages.begin(), decoded->messages.end());
    }
    EXPECT_EQ(unpacked, messages) << "limit " << limit;
    // Greedy packing fills packets: two neighbours never fit in one.
    for (size_t i = 0; i + 1 < packets.size(); ++i) {
      auto next = decode_packet(packets[i + 1], DecodeLimits{});
      ASSERT_TRUE(next.is_ok());
      EXPECT_GT(packets[i].size() + encoded_size(next->messages.front()), limit);
    }
  }
}

TEST(CodecTest, PackSetsAsideAMessageLargerThanTheLimit) {
  Member member = sample_member();
  member.tags["blob"] = std::string(3000, 'x');
  std::vector<Message> messages = {Ack{1, "a"}, Alive{member}, Ack{2, "b"}};
  std::vector<Message> too_large;
  auto packets = pack(messages, 1400, &too_large);
  ASSERT_EQ(packets.size(), 1u);
  auto decoded = decode_packet(packets[0], DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->messages, (std::vector<Message>{Ack{1, "a"}, Ack{2, "b"}}));
  ASSERT_EQ(too_large.size(), 1u);
  EXPECT_EQ(too_large[0], messages[1]);
  EXPECT_TRUE(pack({}, 1400).empty());
}

TEST(CodecTest, RefusesOversizedPacket) {
  DecodeLimits limits;
  limits.max_packet_bytes = 100;
  DecodeReport report;
  auto decoded = decode_packet(std::string(101, '\0'), limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::too_large);
  EXPECT_EQ(report.error, WireError::oversized);
}

TEST(CodecTest, RefusesTooManyMessages) {
  DecodeLimits limits;
  limits.max_messages = 10;
  Packet packet;
  for (uint32_t i = 0; i < 10; ++i) packet.messages.push_back(Ack{i, "a"});
  EXPECT_TRUE(decode_packet(encode_packet(packet), limits).is_ok());
  packet.messages.push_back(Ack{10, "a"});
  DecodeReport report;
  auto decoded = decode_packet(encode_packet(packet), limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::too_large);
  EXPECT_EQ(report.error, WireError::oversized);
}

TEST(CodecTest, RefusesNamesLongerThanTheLimit) {
  DecodeLimits limits;
  const std::string ok_name(limits.max_name_bytes, 'n');
  const std::string long_name(limits.max_name_bytes + 1, 'n');
  Member long_member = sample_member(long_name);
  const std::vector<Message> too_long = {
      Ping{1, long_name, "s", ""},        Ping{1, "t", long_name, ""},          Ack{1, long_name},
      Nack{1, long_name},                 Suspect{long_name, 1, "x"},           Suspect{"x", 1, long_name},
      Dead{long_name, 1, "x"},            Dead{"x", 1, long_name},              Alive{long_member},
      IndirectPing{1, long_name, "127.0.0.1:1", "s", "", true},
  };
  for (const auto& message : too_long) {
    DecodeReport report;
    auto decoded = decode_packet(encode_packet(Packet{{message}}), limits, &report);
    ASSERT_FALSE(decoded.is_ok()) << "message index " << message.index();
    EXPECT_EQ(decoded.status().code(), StatusCode::too_large);
    EXPECT_EQ(report.error, WireError::oversized);
  }
  EXPECT_TRUE(decode_packet(encode_packet(Packet{{Alive{sample_member(ok_name)}}}), limits).is_ok());
  Member long_id = sample_member();
  long_id.id = std::string(limits.max_id_bytes + 1, 'i');
  EXPECT_EQ(decode_packet(encode_packet(Packet{{Alive{long_id}}}), limits).status().code(), StatusCode::too_large);
}

TEST(CodecTest, RefusesMissingIdentities) {
  Member nameless = sample_member("");
  Member addressless = sample_member();
  addressless.address.clear();
  for (const Message& message : std::vector<Message>{Alive{nameless}, Alive{addressless}, Suspect{"", 1, "x"},
                                                     Dead{"", 1, "x"}, IndirectPing{1, "t", "", "s", "", true}}) {
    DecodeReport report;
    auto decoded = decode_packet(encode_packet(Packet{{message}}), DecodeLimits{}, &report);
    ASSERT_FALSE(decoded.is_ok()) << "message index " << message.index();
    EXPECT_EQ(decoded.status().code(), StatusCode::invalid_argument);
    EXPECT_EQ(report.error, WireError::garbage);
  }
}

TEST(CodecTest, AddressesMustBeIpAndPort) {
  for (const char* good : {"10.0.0.1:8301", "127.0.0.1:1", "[::1]:8301", "[fd00::1:2]:65535"}) {
    EXPECT_TRUE(is_ip_port(good)) << good;
  }
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:80x",
                          "host.example:8301", "::1:8301", "[::1]", "[::1]8301", "[10.0.0.1]:1", "1.2.3:4",
                          "10.0.0.1:+80", "256.0.0.1:1", ":8301"}) {
    EXPECT_FALSE(is_ip_port(bad)) << bad;
  }
  Member member = sample_member();
  member.address = "web-1.example:8301";
  DecodeReport report;
  auto decoded = decode_packet(encode_packet(Packet{{Alive{member}}}), DecodeLimits{}, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::garbage);
  EXPECT_FALSE(decode_packet(encode_packet(Packet{{Ping{1, "t", "s", "nowhere"}}}), DecodeLimits{}).is_ok());
}

TEST(CodecTest, RefusesHugeTagMaps) {
  DecodeLimits limits;
  Member many = sample_member();
  many.tags.clear();
  for (size_t i = 0; i <= limits.max_tags; ++i) many.tags["k" + std::to_string(i)] = "v";
  DecodeReport report;
  auto decoded = decode_push_pull(encode_push_pull(PushPull{false, {many}}), limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::too_large);
  EXPECT_EQ(report.error, WireError::oversized);

  Member heavy = sample_member();
  heavy.tags = {{"blob", std::string(limits.max_tag_bytes, 'x')}};
  decoded = decode_push_pull(encode_push_pull(PushPull{false, {heavy}}), limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::oversized);

  // Large tag sets within the limit travel by push-pull (no 512-byte cap).
  heavy.tags = {{"blob", std::string(limits.max_tag_bytes - 4, 'x')}};
  decoded = decode_push_pull(encode_push_pull(PushPull{false, {heavy}}), limits);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->members[0], heavy);
}

TEST(CodecTest, RefusesAMemberRecordStuffedWithEmptyTags) {
  // 2 MB of empty tag records in one member: refused by size before parsing.
  std::string member_body;
  member_body += "\x0a\x01n";                 // name
  member_body += "\x1a\x0c" "10.0.0.1:830"; // address (12 bytes)
  for (int i = 0; i < 1000000; ++i) member_body += "\x32\x00";
  std::string push_pull;
  push_pull.push_back(0x12);
  uint64_t length = member_body.size();
  while (length >= 0x80) {
    push_pull.push_back(static_cast<char>((length & 0x7f) | 0x80));
    length >>= 7;
  }
  push_pull.push_back(static_cast<char>(length));
  push_pull += member_body;
  DecodeReport report;
  auto decoded = decode_push_pull(push_pull, DecodeLimits{}, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::oversized);
}

TEST(CodecTest, RefusesTooManyMembers) {
  DecodeLimits limits;
  limits.max_members = 5;
  PushPull push_pull;
  for (int i = 0; i < 5; ++i) push_pull.members.push_back(sample_member("n" + std::to_string(i)));
  EXPECT_TRUE(decode_push_pull(encode_push_pull(push_pull), limits).is_ok());
  push_pull.members.push_back(sample_member("n5"));
  DecodeReport report;
  auto decoded = decode_push_pull(encode_push_pull(push_pull), limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::oversized);

  limits.max_push_pull_bytes = 10;
  decoded = decode_push_pull(encode_push_pull(push_pull), limits, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(report.error, WireError::oversized);
}

TEST(CodecTest, DropsUnknownMessagesAndKeepsTheRest) {
  const std::string ack = encode_packet(Packet{{Ack{5, "web-2"}}});
  DecodeReport report;
  auto decoded = decode_packet(record(kUnknownMessageBody) + ack + record(kUnknownMessageBody), DecodeLimits{},
                               &report);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->messages, (std::vector<Message>{Ack{5, "web-2"}}));
  EXPECT_EQ(report.unknown_messages, 2u);
  EXPECT_EQ(report.error, WireError::none);
}

TEST(CodecTest, RefusesAPacketOfOnlyUnknownMessages) {
  DecodeReport report;
  auto decoded = decode_packet(record(kUnknownMessageBody), DecodeLimits{}, &report);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().message(), "unknown message type");
  EXPECT_EQ(report.error, WireError::unknown_type);
  EXPECT_EQ(report.unknown_messages, 1u);
  // An empty message record is of no known type either.
  decoded = decode_packet(record(""), DecodeLimits{}, &report);
  EXPECT_EQ(report.error, WireError::unknown_type);
}

TEST(CodecTest, IgnoresUnknownFieldsAndRefusesMalformedRecords) {
  const std::string ack = encode_packet(Packet{{Ack{5, "web-2"}}});
  // Unknown top-level fields of every wire type the format allows.
  const std::string unknown_fields = std::string("\x10\x05", 2) + std::string("\x19", 1) + std::string(8, '\x01') +
                                     std::string("\x22\x02hi", 4) + std::string("\x2d", 1) + std::string(4, '\x02');
  auto decoded = decode_packet(unknown_fields + ack, DecodeLimits{});
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->messages.size(), 1u);

  for (const std::string& bad : {std::string("\x08\x01", 2) /* messages as a varint */,
                                 std::string("\x0b", 1) /* start group */, std::string("\x00\x00", 2) /* field 0 */,
                                 std::string("\x0a\x05\x01", 3) /* length past the end */,
                                 std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), std::string("", 0),
                                 record("\x0a\x03\x08\x01")}) {
    DecodeReport report;
    auto result = decode_packet(bad, DecodeLimits{}, &report);
    EXPECT_FALSE(result.is_ok());
    EXPECT_EQ(report.error, WireError::garbage);
  }
}

TEST(CodecTest, RefusesUnknownMemberStateAndDuplicateTags) {
  // Member with state 9: name "n", address, state field 5 = 9.
  std::string member = std::string("\x0a\x01n", 3) + "\x1a\x0c" "10.0.0.1:830" + std::string("\x28\x09", 2);
  std::string alive = "\x0a" + std::string(1, static_cast<char>(member.size())) + member;
  std::string message = "\x2a" + std::string(1, static_cast<char>(alive.size())) + alive;
  DecodeReport report;
  EXPECT_FALSE(decode_packet(record(message), DecodeLimits{}, &report).is_ok());
  EXPECT_EQ(report.error, WireError::garbage);

  const std::string tag = std::string("\x32\x06\x0a\x01k\x12\x01v", 8);
  member = std::string("\x0a\x01n", 3) + "\x1a\x0c" "10.0.0.1:830" + tag + tag;
  alive = "\x0a" + std::string(1, static_cast<char>(member.size())) + member;
  message = "\x2a" + std::string(1, static_cast<char>(alive.size())) + alive;
  EXPECT_FALSE(decode_packet(record(message), DecodeLimits{}, &report).is_ok());
  EXPECT_EQ(report.error, WireError::garbage);
}

TEST(CodecTest, RandomGarbageNeverCrashes) {
  std::mt19937_64 random(20261122);
  const std::string valid = encode_packet(Packet{every_message()});
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(random() % 300);
      for (auto& byte : bytes) byte = static_cast<char>(random());
    } else {
      // Mutations of a valid packet reach deeper than pure noise.
      bytes = valid;
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
        bytes[random() % bytes.size()] = static_cast<char>(random());
      }
    }
    DecodeReport report;
    auto packet = decode_packet(bytes, DecodeLimits{}, &report);
    if (packet.is_ok()) {
      ++accepted;
      EXPECT_EQ(report.error, WireError::none);
    } else {
      EXPECT_NE(report.error, WireError::none);
    }
    auto push_pull = decode_push_pull(bytes, DecodeLimits{}, &report);
    if (!push_pull.is_ok()) {
      EXPECT_NE(report.error, WireError::none);
    }
  }
  EXPECT_LT(accepted, 20000);
}

}  // namespace
}  // namespace roster::gossip::wire
