#pragma once

// A catalog whose writes wait until the test releases them, as a server's do
// while their entry is replicated: LocalCatalog underneath, with every write
// held until release() applies it or fail() refuses it.

#include <deque>
#include <functional>
#include <string>

#include "agent/core/local_catalog.h"

namespace roster::agent::testing {

class DeferredCatalog final : public CatalogBackend {
 public:
  explicit DeferredCatalog(const Clock& clock) : local_(clock, "127.0.0.1:8300") {}

  void write(catalog::CommandBody body, WriteDone done) override {
    held_.push_back([this, body = std::move(body), done = std::move(done)](const Status* refusal) mutable {
      if (refusal != nullptr) return done(*refusal);
      local_.write(std::move(body), std::move(done));
    });
  }
  void write_transaction(catalog::Transaction transaction, TxnDone done) override {
    held_.push_back([this, transaction = std::move(transaction), done = std::move(done)](const Status* refusal) mutable {
      if (refusal != nullptr) return done(TxnResult{*refusal, 0, {}});
      local_.write_transaction(std::move(transaction), std::move(done));
    });
  }
  void read_node(const std::string& node, std::function<void(Result<NodeRecord>)> done) override {
    local_.read_node(node, std::move(done));
  }
  const catalog::StateStore* replica() const override { return local_.replica(); }
  catalog::WatchHub& watch_hub() override { return local_.watch_hub(); }
  void prepare_read(Consistency mode, std::optional<std::chrono::nanoseconds> max_stale, ReadyDone done) override {
    local_.prepare_read(mode, max_stale, std::move(done));
  }
  ReadFreshness freshness() const override { return local_.freshness(); }
  bool is_leader() const override { return true; }
  std::string leader_address() const override { return local_.leader_address(); }
  std::vector<std::string> peer_addresses() const override { return local_.peer_addresses(); }

  size_t held() const { return held_.size(); }
  // Applies the oldest held write (its callback runs now).
  void release() {
    auto next = std::move(held_.front());
    held_.pop_front();
    next(nullptr);
  }
  void release_all() {
    while (!held_.empty()) release();
  }
  // Refuses the oldest held write with `status`; nothing is applied.
  void fail(const Status& status) {
    auto next = std::move(held_.front());
    held_.pop_front();
    next(&status);
  }

 private:
  LocalCatalog local_;
  std::deque<std::function<void(const Status*)>> held_;
};

}  // namespace roster::agent::testing
