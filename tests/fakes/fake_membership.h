#pragma once

// An in-memory agent::Membership for tests of the HTTP API and the core:
// members are set by hand, joins finish when the test says so, and every
// call is recorded.

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
  std::vector<std::map<std::string, std::string>> tags_seen;
  std::vector<std::vector<std::string>> joins_started;
  bool leave_started = false;

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
      member.status = agent::MemberStatus::left;
      return Status::ok();
    }
    return Status::not_found("no member named \"" + node + "\"");
  }
  std::vector<std::string> keyring_keys() const override { return keys; }
  Status keyring_install(const std::string& key) override {
    if (keys.empty()) return Status::unavailable("gossip encryption is not enabled");
    keys.push_back(key);
    return Status::ok();
  }
  Status keyring_use(const std::string& key) override {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) {
        std::swap(keys[0], keys[i]);
        return Status::ok();
      }
    }
    return Status::not_found("key is not installed");
  }
  Status keyring_remove(const std::string& key) override {
    if (!keys.empty() && keys.front() == key) return Status::conflict("cannot remove the primary key");
    std::erase(keys, key);
    return Status::ok();
  }
  std::map<std::string, std::string> stats() const override {
    return {{"members", std::to_string(member_list.size())}, {"dropped_wrong_key", "3"}};
  }
  void set_local_tags(const std::map<std::string, std::string>& tags) override { tags_seen.push_back(tags); }

 private:
  catalog::WatchHub& hub_;
  std::map<uint64_t, agent::JoinOutcome> outcomes_;
  bool leave_finished_ = false;
};

}  // namespace roster::fakes
