#include "agent/raft/types.h"

namespace roster::raft {

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::pre_vote: return "pre_vote";
    case MessageType::pre_vote_response: return "pre_vote_response";
    case MessageType::request_vote: return "request_vote";
    case MessageType::request_vote_response: return "request_vote_response";
    case MessageType::append_entries: return "append_entries";
    case MessageType::append_entries_response: return "append_entries_response";
    case MessageType::install_snapshot: return "install_snapshot";
    case MessageType::install_snapshot_response: return "install_snapshot_response";
    case MessageType::timeout_now: return "timeout_now";
  }
  return "unknown";
}

}  // namespace roster::raft
