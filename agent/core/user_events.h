#pragma once

// User events as Consul's agent keeps them (agent/user_event.go and
// event_endpoint.go): the event shape, its validation, the node, service and
// tag filters, and the log of recent events that /v1/event/list reads.
// Gossiping them is the Membership's business (agent/gossip: Serf's user
// events); this file is plain data and logic, with no I/O.
//
// Thread affinity: the agent core's thread (UserEventLog is not thread-safe).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace roster::agent {

// Consul's UserEvent, as /v1/event/fire returns it and /v1/event/list lists it.
struct UserEventInfo {
  std::string id;  // a UUID, made by the agent that fires it
  std::string name;
  std::string payload;  // raw bytes; base64 in JSON
  std::string node_filter;     // regular expressions; empty: no filter
  std::string service_filter;
  std::string tag_filter;  // only with service_filter
  int version = 1;
  uint64_t ltime = 0;  // the gossip Lamport time; 0 in the answer to a fire
  bool operator==(const UserEventInfo&) const = default;
};

inline constexpr int kUserEventVersion = 1;
// Woken whenever the log takes an event.
inline constexpr const char* kUserEventWatchKey = "user-events";

// Consul's validateUserEvent. Errors: invalid_argument ("User event missing
// name", a tag filter without a service filter, a filter that is not a
// regular expression, with the expression's error).
Status validate_user_event(const UserEventInfo& event);

// What a filter is matched against: one of this agent's services.
struct LocalServiceTags {
  std::string id;
  std::string name;
  std::vector<std::string> tags;
};

// Consul's shouldProcessUserEvent: the node filter must match `node_name`;
// the service filter must match one local service's name or ID (Consul
// matches the ID, which defaults to the name) and, with a tag filter, one of
// that service's tags. Matching is unanchored search, as Go's MatchString.
// A newer version, an invalid expression or one too costly to run does not match.
bool user_event_matches(const UserEventInfo& event, const std::string& node_name,
                        const std::vector<LocalServiceTags>& services);

// Consul's uuidToUint64: the X-Consul-Index of an event list is this of the
// last event's ID, the high and low 64 bits of the UUID XORed together. An ID
// that is not a UUID (from an odd peer) gives 0, not a crash.
uint64_t user_event_index(std::string_view id);

// The events this agent received, oldest first, at most `capacity` (Consul
// keeps 256 in a ring buffer).
class UserEventLog {
 public:
  explicit UserEventLog(size_t capacity = 256) : capacity_(capacity == 0 ? 1 : capacity) {}

  void add(UserEventInfo event);
  // Oldest first; only those named `name` unless it is empty.
  std::vector<UserEventInfo> list(const std::string& name) const;
  size_t size() const { return events_.size(); }

 private:
  size_t capacity_;
  std::deque<UserEventInfo> events_;
};

}  // namespace roster::agent
