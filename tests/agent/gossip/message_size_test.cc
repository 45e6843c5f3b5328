#include "agent/gossip/message_size.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

}  // namespace
}  // namespace roster::gossip
