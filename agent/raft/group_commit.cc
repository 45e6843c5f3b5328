#include "agent/raft/group_commit.h"

#include <spdlog/logger.h>

#include <algorithm>

namespace roster::raft {

GroupCommit::GroupCommit(Storage& storage, Env& env, Deliver deliver, std::shared_ptr<spdlog::logger> logger)
    : storage_(storage), env_(env), deliver_(std::move(deliver)), logger_(std::move(logger)) {
  latencies_.reserve(kLatencySamples);
  writer_ = std::thread([this] { writer_loop(); });
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void GroupCommit::submit(GroupCommitBatch batch, Callback done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Item{std::move(batch), nullptr, std::move(done)});
  }
  wake_.notify_one();
}

void GroupCommit::run(std::function<Status(Storage&)> task, Callback done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Item{{}, std::move(task), std::move(done)});
  }
  wake_.notify_one();
}

GroupCommitStats GroupCommit::stats() const {
  std::lock_guard lock(mutex_);
  GroupCommitStats stats = stats_;
  if (!latencies_.empty()) {
    std::vector<std::chrono::nanoseconds> sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    stats.sync_p50 = sorted[(sorted.size() - 1) / 2];
    stats.sync_p99 = sorted[(sorted.size() - 1) * 99 / 100];
    stats.sync_max = sorted.back();
  }
  return stats;
}

void GroupCommit::writer_loop() {
  while (true) {
    std::vector<Item> items;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted is done
      items.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    size_t begin = 0;
    while (begin < items.size()) {
      if (items[begin].task) {
        Status status = failure_.is_ok() ? items[begin].task(storage_) : failure_;
        deliver_([done = std::move(items[begin].done), status] { done(status); });
        ++begin;
        continue;
      }
      size_t end = begin;
      while (end < items.size() && !items[end].task) ++end;
      write_group(items, begin, end);
      begin = end;
    }
  }
}

void GroupCommit::write_group(std::vector<Item>& items, size_t begin, size_t end) {
  Status status = failure_;
  uint64_t entries = 0;
  for (size_t i = begin; i < end && status.is_ok(); ++i) {
    const GroupCommitBatch& batch = items[i].batch;
    status = storage_.append(batch.entries);
    if (status.is_ok() && batch.hard_state) status = storage_.save_hard_state(*batch.hard_state);
    entries += batch.entries.size();
  }
  if (status.is_ok()) {
    const auto started = env_.now();
    status = storage_.sync();
    const auto latency = std::chrono::duration_cast<std::chrono::nanoseconds>(env_.now() - started);
    if (status.is_ok()) {
      std::lock_guard lock(mutex_);
      ++stats_.syncs;
      stats_.batches += end - begin;
      stats_.entries += entries;
      stats_.largest_group = std::max<uint64_t>(stats_.largest_group, end - begin);
      if (latencies_.size() < kLatencySamples) {
        latencies_.push_back(latency);
      } else {
        latencies_[next_latency_] = latency;
        next_latency_ = (next_latency_ + 1) % kLatencySamples;
      }
    }
  }
  if (!status.is_ok() && failure_.is_ok()) {
    // Even a rejected batch (invalid_argument) stops the writer: the batches
    // after it may depend on it, and Raft must not assume any of them.
    failure_ = status;
    logger_->error("raft group commit failed, no further writes: {}", status.to_string());
  }
  for (size_t i = begin; i < end; ++i) {
    deliver_([done = std::move(items[i].done), status] { done(status); });
  }
}

}  // namespace roster::raft
