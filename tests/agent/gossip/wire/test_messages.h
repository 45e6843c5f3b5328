#pragma once

// Sample messages for the wire tests: one of every type, with every field set.

#include <string>
#include <vector>

#include "agent/gossip/messages.h"

namespace roster::gossip::wire::testing {

inline Member sample_member(std::string name = "web-1") {
  Member member;
  member.name = std::move(name);
  member.id = "6f0e2b5a-43c1-4d5e-9a0b-2f1c8d7e6a5b";
  member.address = "10.0.0.1:8301";
  member.incarnation = 7;
  member.state = MemberState::suspect;
  member.tags = {{"role", "web"}, {"dc", "dc1"}, {"binary", std::string("\xff\x00\x01", 3)}};
  return member;
}

inline std::vector<Message> every_message() {
  return {
      Ping{1, "web-2", "web-1", "10.0.0.1:8301"},
      IndirectPing{2, "db-1", "[fd00::1]:8301", "web-1", "10.0.0.1:8301", true},
      Ack{3, "web-2"},
      Nack{4, "web-3"},
      Alive{sample_member()},
      Suspect{"db-1", 9, "web-1"},
      Dead{"db-2", 11, "db-2"},
      LeaveIntent{"db-3", 13, "web-1"},
      UserEvent{17, "deploy", std::string("v2\x00\xff", 4), "b54fe110-7af5-cafc-d1fb-afc8ba432b1c", "web-.*",
                "api", "v[0-9]+"},
  };
}

}  // namespace roster::gossip::wire::testing
