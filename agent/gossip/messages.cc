#include "agent/gossip/messages.h"

namespace roster::gossip {

const char* member_state_name(MemberState state) {
  switch (state) {
    case MemberState::alive: return "alive";
    case MemberState::suspect: return "suspect";
    case MemberState::dead: return "failed";
    case MemberState::left: return "left";
    case MemberState::leaving: return "leaving";
  }
  return "unknown";
}

}  // namespace roster::gossip
