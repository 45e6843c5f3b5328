#include "agent/gossip/broadcast_queue.h"

#include <cmath>
#include <limits>
#include <utility>

#include "agent/gossip/message_size.h"

namespace roster::gossip {
namespace {

// No message is smaller than this, so a budget below it ends the scan early.
constexpr size_t kSmallestBroadcast = 8;
constexpr int kMaxMisses = 16;

}  // namespace

int retransmit_limit(int retransmit_mult, size_t node_count) {
  double scale = std::ceil(std::log10(static_cast<double>(node_count) + 1.0));
  return retransmit_mult * static_cast<int>(scale);
}

void BroadcastQueue::queue(const std::string& name, Message message) {
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    items_.erase(it->second);
    by_name_.erase(it);
  }
  Key key{0, std::numeric_limits<uint64_t>::max() - next_id_++};
  size_t size = estimated_size(message);
  items_.emplace(key, Item{name, std::move(message), size});
  by_name_.emplace(name, key);
}

std::vector<BroadcastQueue::Key> BroadcastQueue::select(size_t byte_budget) const {
  std::vector<Key> picked;
  size_t remaining = byte_budget;
  // Once a few in a row do not fit, the packet is as good as full: a long
  // queue (thousands of alives in a join storm) must not be scanned per packet.
  int misses = 0;
  for (auto it = items_.begin(); it != items_.end() && remaining >= kSmallestBroadcast && misses < kMaxMisses; ++it) {
    if (it->second.size > remaining) {
      ++misses;
      continue;
    }
    misses = 0;
    remaining -= it->second.size;
    picked.push_back(it->first);
  }
  return picked;
}

std::vector<Message> BroadcastQueue::peek(size_t byte_budget) const {
  std::vector<Message> copies;
  for (const Key& key : select(byte_budget)) copies.push_back(items_.at(key).message);
  return copies;
}

std::vector<Message> BroadcastQueue::take(size_t byte_budget, int transmit_limit) {
  std::vector<Key> picked = select(byte_budget);
  std::vector<Message> taken;
  taken.reserve(picked.size());
  for (const Key& key : picked) {
    auto node = items_.extract(key);
    Item& item = node.mapped();
    taken.push_back(item.message);
    Key next{key.transmits + 1, key.reverse_id};
    if (next.transmits >= transmit_limit) {
      by_name_.erase(item.name);
      continue;
    }
    by_name_[item.name] = next;
    node.key() = next;
    items_.insert(std::move(node));
  }
  return taken;
}

void BroadcastQueue::clear() {
  items_.clear();
  by_name_.clear();
}

}  // namespace roster::gossip
