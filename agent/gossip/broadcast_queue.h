#pragma once

// memberlist's TransmitLimitedQueue: broadcasts (alive, suspect, dead) waiting
// to be piggybacked on outgoing packets. At most one message per node is
// queued: a newer message about a node replaces the older one. Messages that
// have been sent fewer times go first, newer before older among equals, and a
// message is dropped once it has been sent `transmit_limit` times.
//
// Not thread-safe; owned by Swim.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/gossip/messages.h"

namespace roster::gossip {

// memberlist's retransmitLimit: retransmit_mult * ceil(log10(node_count + 1)).
int retransmit_limit(int retransmit_mult, size_t node_count);

class BroadcastQueue {
 public:
  // Queues `message` about the node `name`, replacing any queued message about it.
  void queue(const std::string& name, Message message);

  // Takes the broadcasts that fit, by estimated_size(), in `byte_budget`.
  // Each one taken counts as one transmission.
  std::vector<Message> take(size_t byte_budget, int transmit_limit);
  // The broadcasts take() would pick, as extra copies: nothing is counted.
  std::vector<Message> peek(size_t byte_budget) const;

  bool contains(const std::string& name) const { return by_name_.count(name) != 0; }
  size_t size() const { return by_name_.size(); }
  bool empty() const { return by_name_.empty(); }
  void clear();

 private:
  struct Key {
    int transmits;
    uint64_t reverse_id;  // newest first among equal transmit counts
    bool operator<(const Key& other) const {
      return transmits != other.transmits ? transmits < other.transmits : reverse_id < other.reverse_id;
    }
  };
  struct Item {
    std::string name;
    Message message;
    size_t size = 0;
  };

  // The keys of the broadcasts that fit in `byte_budget`, in sending order.
  std::vector<Key> select(size_t byte_budget) const;

  std::map<Key, Item> items_;
  std::unordered_map<std::string, Key> by_name_;
  uint64_t next_id_ = 0;
};

}  // namespace roster::gossip
