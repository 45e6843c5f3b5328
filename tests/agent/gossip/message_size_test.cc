#include "agent/gossip/message_size.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/gossip/swim.h"
#include "agent/gossip/wire/codec.h"
#include "agent/gossip/wire/envelope.h"

namespace roster::gossip {
namespace {

std::vector<Message> samples() {
  Member member{"web-7", "9f1c2b7e-2f55-4a3c-9a57-0e6f3f1d2c11", "10.0.0.7:8301", 300, MemberState::alive,
                {{"role", "web"}, {"env", std::string(300, 'x')}}};
  Member zero{"n", "i", "1.2.3.4:1", 0, MemberState::alive, {}};
  return {Ping{1, "web-7", "db-1", "10.0.0.1:8301"},
          Ping{0xffffffff, std::string(200, 'n'), "db-1", "[2001:db8::1]:8301"},
          IndirectPing{7, "web-7", "10.0.0.7:8301", "db-1", "10.0.0.1:8301", true},
          Ack{9, "web-7"},
          Nack{0, ""},
          Alive{member},
          Alive{zero},
          Suspect{"web-7", 1ull << 40, "db-1"},
          Dead{"web-7", 3, "web-7"}};
}

TEST(MessageSize, EstimateNeverUndercountsTheWire) {
  for (const Message& message : samples()) {
    size_t wire_size = wire::encoded_size(message);
    size_t estimate = estimated_size(message);
    EXPECT_GE(estimate, wire_size);
    EXPECT_LE(estimate, wire_size + 16);  // tight enough to pack well
  }
}

TEST(MessageSize, PacketOverheadCoversTheEncryptedEnvelope) {
  EXPECT_GE(kPacketOverheadBytes, wire::kEncryptedOverhead);
}

// The largest table Swim holds (SwimConfig::max_members) as a push-pull
// state that the receiver's default decode limits accept: otherwise every
// join through a crowded node fails.
Result<PushPull> full_table_push_pull(size_t name_bytes, size_t id_bytes, size_t tag_bytes, size_t* members_held) {
  SwimConfig config;
  config.name = "self";
  config.id = "self-id";
  config.address = "10.0.0.1:8301";
  Swim swim(config);
  std::vector<Member> members;
  for (size_t i = 1; i < config.max_members; ++i) {
    std::string n = std::to_string(i);
    members.push_back(Member{std::string(name_bytes - n.size(), 'n') + n, std::string(id_bytes - n.size(), 'i') + n,
                             "[2001:db8::" + std::to_string(i % 9999) + "]:8301", 1, MemberState::alive,
                             {{"role", std::string(tag_bytes, 'r')}}});
  }
  const TimePoint now{};
  swim.preload(now, members);
  *members_held = swim.members().size();
  swim.join(now, {"10.0.0.2:8301"});
  SwimOutput out = swim.take_output();
  if (out.push_pulls.size() != 1) return Status::internal("no push-pull");
  return wire::decode_push_pull(wire::encode_push_pull(out.push_pulls.front().state), wire::DecodeLimits{});
}

TEST(MessageSize, AFullMemberTableOfTypicalMembersTravelsWhole) {
  size_t held = 0;
  auto decoded = full_table_push_pull(24, 36, 100, &held);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().message();
  EXPECT_EQ(held, SwimConfig{}.max_members);
  EXPECT_EQ(decoded->members.size(), held);
}

TEST(MessageSize, AFullMemberTableOfTheLargestMembersStillDecodes) {
  const wire::DecodeLimits limits;
  size_t held = 0;
  auto decoded = full_table_push_pull(limits.max_name_bytes - 6, limits.max_id_bytes, 2000, &held);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().message();
  EXPECT_EQ(decoded->members.front().name, "self");
  EXPECT_GT(decoded->members.size(), held / 2);
}

}  // namespace
}  // namespace roster::gossip
