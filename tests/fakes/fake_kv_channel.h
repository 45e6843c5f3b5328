#pragma once

// An in-memory catalog KV behind rpc::KvChannel, with Consul's blocking
// semantics: get() with an index waits until the key's modify index passes it
// (or the wait ends, or cancel()). Tests write bundles as roster-deploy would,
// read what the agent wrote, and make the next N calls fail.
//
// Thread safety: every member may be called from any thread.

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/rpc/kv_channel.h"

namespace roster::fakes {

class FakeKvChannel final : public rpc::KvChannel {
 public:
  // A write from someone else (roster-deploy).
  void write(const std::string& key, const std::string& value) {
    std::lock_guard lock(mutex_);
    store(key, value);
  }
  std::optional<std::string> value(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    return it == entries_.end() ? std::nullopt : std::optional<std::string>(it->second.value);
  }
  uint64_t modify_index(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.modify_index;
  }
  // Every value the agent put under `key`, in order.
  std::vector<std::string> puts_to(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = puts_.find(key);
    return it == puts_.end() ? std::vector<std::string>{} : it->second;
  }
  // The index of each get(), in order.
  std::vector<uint64_t> get_indexes() const {
    std::lock_guard lock(mutex_);
    return get_indexes_;
  }
  // The next `count` calls (get or put) fail with unavailable.
  void fail_next(int count) {
    std::lock_guard lock(mutex_);
    failures_ = count;
  }
  int failed_calls() const {
    std::lock_guard lock(mutex_);
    return failed_calls_;
  }

  Result<rpc::KvRead> get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) override {
    std::unique_lock lock(mutex_);
    if (Status status = fault(); !status.is_ok()) return status;
    get_indexes_.push_back(index);
    auto current = [&] {
      auto it = entries_.find(key);
      return it == entries_.end() ? index_ : it->second.modify_index;
    };
    if (index > 0) {
      changed_.wait_for(lock, wait, [&] { return cancelled_ || current() > index; });
    }
    if (cancelled_) return Status::unavailable("cancelled");
    rpc::KvRead read;
    read.index = std::max<uint64_t>(current(), 1);
    if (auto it = entries_.find(key); it != entries_.end()) read.value = it->second.value;
    return read;
  }

  Status put(const std::string& key, std::string_view value) override {
    std::lock_guard lock(mutex_);
    if (Status status = fault(); !status.is_ok()) return status;
    puts_[key].emplace_back(value);
    store(key, std::string(value));
    return Status::ok();
  }

  void cancel() override {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    changed_.notify_all();
  }

 private:
  struct Entry {
    std::string value;
    uint64_t modify_index = 0;
  };
  // REQUIRES: mutex_ held.
  void store(const std::string& key, std::string value) {
    entries_[key] = Entry{std::move(value), ++index_};
    changed_.notify_all();
  }
  Status fault() {
    if (cancelled_) return Status::unavailable("cancelled");
    if (failures_ > 0) {
      --failures_;
      ++failed_calls_;
      return Status::unavailable("connection refused (injected)");
    }
    return Status::ok();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::vector<std::string>> puts_;
  std::vector<uint64_t> get_indexes_;
  uint64_t index_ = 10;
  int failures_ = 0;
  int failed_calls_ = 0;
  bool cancelled_ = false;
};

}  // namespace roster::fakes
