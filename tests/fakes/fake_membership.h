#pragma once

// An in-memory agent::Membership for tests of the HTTP API and the core:
// members are set by hand, joins finish when the test says so, and every
// call is recorded.

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/catalog/watch_hub.h"
#include "agent/core/membership.h"

namespace roster::fakes {

class FakeMembership final : public agent::Membership {
 public:
  explicit FakeMembership(catalog::WatchHub& hub) : hub_(hub) {}

  // --- what the test controls ---
  std::vector<agent::MemberInfo> member_list;
  agent::MemberInfo self;
  std::vector<std::string> keys;  // base64, primary first; empty: encryption off
  // Other members' keyrings (by node name), which keyring operations reach too.
  std::map<std::string, std::vector<std::string>> peer_keys;
  bool hold_keyring = false;
  std::vector<std::map<std::string, std::string>> tags_seen;
  std::vector<std::vector<std::string>> joins_started;
  bool leave_started = false;
  std::vector<agent::UserEventInfo> fired;
  Status fire_error = Status::ok();

  // Ends join `ticket` and wakes whoever waits for it.
  void finish_join(uint64_t ticket, agent::JoinOutcome outcome) {
    outcomes_[ticket] = std::move(outcome);
    hub_.notify({agent::join_watch_key(ticket)});
  }
  void finish_leave() {
    leave_finished_ = true;
    hub_.notify({agent::kLeaveWatchKey});
  }

  // --- agent::Membership ---
  std::vector<agent::MemberInfo> members() const override { return member_list; }
  agent::MemberInfo local_member() const override { return self; }
  uint64_t start_join(const std::vector<std::string>& addresses) override {
    joins_started.push_back(addresses);
    return joins_started.size();
  }
  std::optional<agent::JoinOutcome> take_join_outcome(uint64_t ticket) override {
    auto it = outcomes_.find(ticket);
    if (it == outcomes_.end()) return std::nullopt;
    agent::JoinOutcome outcome = std::move(it->second);
    outcomes_.erase(it);
    return outcome;
  }
  void start_leave() override { leave_started = true; }
  bool leave_done() const override { return leave_finished_; }
  Status force_leave(const std::string& node) override {
    for (agent::MemberInfo& member : member_list) {
      if (member.name != node) continue;
      // Serf's: a failed member has left; a live one is leaving (and would refute).
      member.status = member.status == agent::MemberStatus::failed ? agent::MemberStatus::left
                                                                   : agent::MemberStatus::leaving;
      return Status::ok();
    }
    return Status::not_found("no member named \"" + node + "\"");
  }
  Result<uint64_t> start_keyring(agent::KeyringOperation op, const std::string& key) override {
    if (keys.empty()) return Status::unavailable("gossip encryption is not enabled");
    agent::KeyringOutcome outcome;
    auto answer = [&](const std::string& node, std::vector<std::string>& ring) {
      ++outcome.num_nodes;
      ++outcome.num_responses;
      if (Status status = apply_keyring(ring, op, key); !status.is_ok()) {
        ++outcome.num_errors;
        outcome.messages[node] = status.message();
      }
      for (const std::string& held : ring) ++outcome.keys[held];
      if (!ring.empty()) ++outcome.primary_keys[ring.front()];
    };
    answer(self.name, keys);
    for (auto& [node, ring] : peer_keys) answer(node, ring);
    const uint64_t ticket = ++keyring_tickets_;
    if (hold_keyring) {
      held_keyring_[ticket] = std::move(outcome);
    } else {
      keyring_outcomes_[ticket] = std::move(outcome);
    }
    return ticket;
  }
  std::optional<agent::KeyringOutcome> take_keyring_outcome(uint64_t ticket) override {
    auto it = keyring_outcomes_.find(ticket);
    if (it == keyring_outcomes_.end()) return std::nullopt;
    agent::KeyringOutcome outcome = std::move(it->second);
    keyring_outcomes_.erase(it);
    return outcome;
  }
  // With hold_keyring set, operations wait until this is called.
  void finish_keyring(uint64_t ticket) {
    keyring_outcomes_[ticket] = std::move(held_keyring_.at(ticket));
    held_keyring_.erase(ticket);
    hub_.notify({agent::keyring_watch_key(ticket)});
  }
  std::vector<std::string> keyring_keys() const override { return keys; }
  Status keyring_install(const std::string& key) override {
    return apply_keyring(keys, agent::KeyringOperation::install, key);
  }
  Status keyring_use(const std::string& key) override { return apply_keyring(keys, agent::KeyringOperation::use, key); }
  Status keyring_remove(const std::string& key) override {
    return apply_keyring(keys, agent::KeyringOperation::remove, key);
  }
  std::map<std::string, std::string> stats() const override {
    return {{"members", std::to_string(member_list.size())}, {"dropped_wrong_key", "3"}};
  }
  void set_local_tags(const std::map<std::string, std::string>& tags) override { tags_seen.push_back(tags); }
  // Delivers a fired event back at once, as the pool does to its firer,
  // unless the test refuses it with `fire_error`.
  Status fire_user_event(const agent::UserEventInfo& event) override {
    if (!fire_error.is_ok()) return fire_error;
    fired.push_back(event);
    deliver(event);
    return Status::ok();
  }
  void set_user_event_handler(std::function<void(const agent::UserEventInfo&)> handler) override {
    user_event_handler_ = std::move(handler);
  }
  // An event arriving from the pool.
  void deliver(const agent::UserEventInfo& event) {
    if (user_event_handler_) user_event_handler_(event);
  }

 private:
  std::function<void(const agent::UserEventInfo&)> user_event_handler_;
  static Status apply_keyring(std::vector<std::string>& ring, agent::KeyringOperation op, const std::string& key) {
    if (ring.empty()) return Status::unavailable("gossip encryption is not enabled");
    auto it = std::find(ring.begin(), ring.end(), key);
    switch (op) {
      case agent::KeyringOperation::list:
        return Status::ok();
      case agent::KeyringOperation::install:
        if (it == ring.end()) ring.push_back(key);
        return Status::ok();
      case agent::KeyringOperation::use:
        if (it == ring.end()) return Status::not_found("key is not installed");
        std::iter_swap(ring.begin(), it);
        return Status::ok();
      case agent::KeyringOperation::remove:
        if (it == ring.begin()) return Status::conflict("cannot remove the primary key");
        if (it != ring.end()) ring.erase(it);
        return Status::ok();
    }
    return Status::ok();
  }

  catalog::WatchHub& hub_;
  std::map<uint64_t, agent::JoinOutcome> outcomes_;
  bool leave_finished_ = false;
  uint64_t keyring_tickets_ = 0;
  std::map<uint64_t, agent::KeyringOutcome> keyring_outcomes_;
  std::map<uint64_t, agent::KeyringOutcome> held_keyring_;
};

}  // namespace roster::fakes
