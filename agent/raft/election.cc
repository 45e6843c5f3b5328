#include "agent/raft/election.h"

#include "agent/raft/membership.h"

namespace roster::raft {

VoteResult VoteTally::result(const Configuration& configuration) const {
  size_t granted = 0;
  size_t refused = 0;
  for (const Server& server : configuration.servers) {
    if (!server.voter) continue;
    auto it = votes_.find(server.id);
    if (it == votes_.end()) continue;
    (it->second ? granted : refused)++;
  }
  const size_t quorum = quorum_size(configuration);
  if (granted >= quorum) return VoteResult::won;
  if (voter_count(configuration) - refused < quorum) return VoteResult::lost;
  return VoteResult::pending;
}

size_t VoteTally::granted() const {
  size_t count = 0;
  for (const auto& [server, granted] : votes_) count += granted ? 1 : 0;
  return count;
}

}  // namespace roster::raft
