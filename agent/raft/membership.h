#pragma once

// Cluster membership (thesis §4.1): servers change one at a time, so the old
// and new majorities always overlap. A server uses the latest configuration
// in its log, committed or not; when a conflicting suffix is cut, the
// configuration falls back with it. A new server joins as a non-voter,
// receives the log, and is promoted once it has caught up, so adding it never
// stalls commits.
//
// Pure: no I/O; configurations travel in log entries encoded by
// encode_configuration().

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/raft/types.h"
#include "common/status.h"

namespace roster::raft {

enum class MembershipChangeKind : uint8_t {
  add_non_voter = 0,  // a new server that receives the log but does not vote
  promote = 1,        // make a caught-up non-voter a voter
  remove = 2,
};

struct MembershipChange {
  MembershipChangeKind kind = MembershipChangeKind::add_non_voter;
  Server server;  // remove and promote use only server.id
};

const Server* find_server(const Configuration& configuration, ServerId id);
bool is_voter(const Configuration& configuration, ServerId id);
size_t voter_count(const Configuration& configuration);
// Votes needed for a majority of the voters.
size_t quorum_size(const Configuration& configuration);

// The configuration after `change`, or an error when it does not apply
// (adding a server that is there, promoting one that is not a non-voter,
// removing the last voter).
Result<Configuration> apply_change(const Configuration& configuration, const MembershipChange& change);

std::string encode_configuration(const Configuration& configuration);
Result<Configuration> decode_configuration(const std::string& bytes);

// The configurations found in a log, by the index of their entry, with the
// snapshot's as the base. Tracks which one is in force after appends, cuts
// and compactions.
class ConfigurationHistory {
 public:
  void reset(Index snapshot_index, Configuration snapshot_configuration);
  void add(Index index, Configuration configuration);
  // Forgets configurations at index >= from (a cut suffix).
  void truncate_from(Index from);
  // Keeps the latest configuration at or before `index` as the base.
  void compact(Index index);

  // The latest configuration (the one in force) and its entry's index.
  const Configuration& latest() const { return by_index_.rbegin()->second; }
  Index latest_index() const { return by_index_.rbegin()->first; }
  // The latest configuration at or before `index`.
  const Configuration& at(Index index) const;

 private:
  std::map<Index, Configuration> by_index_{{0, Configuration{}}};
};

}  // namespace roster::raft
