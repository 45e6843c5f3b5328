#pragma once

// ExecWatch: the exec driver (docs/DEPLOY.md, "The agent"). On its own
// thread it
//   1. starts the BundleRunner and, if the agent died mid-bundle, writes the
//      `interrupted` result for it;
//   2. writes this node's facts to roster/deploy/facts/<node>;
//   3. holds a blocking query on roster/deploy/bundles/<node> and hands each
//      new value to the runner, writing `running` and then the final result
//      to roster/deploy/results/<node>.
// Every KV failure is retried with bounded exponential backoff, logged once
// per outage rather than once per retry. A result is retried until written
// (or the watch stops): roster-deploy waits for it.
//
// Thread affinity: start() and stop() from one thread (the agent's main
// thread); everything else runs on the watch's own thread, which is the only
// user of the runner and the channel (but for KvChannel::cancel()).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/exec/bundle_runner.h"
#include "agent/rpc/kv_channel.h"
#include "common/deploy/records.h"

namespace spdlog {
class logger;
}

namespace roster::rpc {

struct ExecWatchOptions {
  std::string node;  // this node's name: the keys under roster/deploy/
  std::optional<deploy_records::NodeFacts> facts;  // written once at start when set
  std::chrono::milliseconds wait{std::chrono::minutes(5)};  // of each blocking query
  std::chrono::milliseconds min_backoff{std::chrono::seconds(1)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
};

class ExecWatch {
 public:
  // `runner` and `channel` are not owned and must outlive the watch; the
  // runner must not have been started. `logger` null: spdlog's default.
  ExecWatch(ExecWatchOptions options, exec::BundleRunner& runner, KvChannel& channel,
            std::shared_ptr<spdlog::logger> logger = nullptr);
  ~ExecWatch();  // stops
  ExecWatch(const ExecWatch&) = delete;
  ExecWatch& operator=(const ExecWatch&) = delete;

  void start();
  // Cancels the channel's request in flight and joins the thread: bounded by
  // how fast the channel honours cancel(), not by the blocking query's wait,
  // but a bundle in the middle of a task finishes that task first.
  // Idempotent.
  void stop();
  // stop(), giving up after `deadline`: false when the thread is still busy
  // (a long task). The thread then still uses the runner and the channel,
  // so the caller must end the process without destroying them; the bundle
  // is reported interrupted and run again at the next start.
  bool stop_within(std::chrono::milliseconds deadline);

  // For tests and /v1/agent/self: the index of the last bundle read, and the
  // results written so far.
  uint64_t bundle_index() const;
  uint64_t results_written() const;

 private:
  void run();
  // Retries `attempt` until it succeeds or the watch stops; false if stopped.
  template <typename Attempt>
  bool until_done(const char* what, Attempt attempt);
  bool sleep_for(std::chrono::milliseconds duration);  // false if stopped
  bool stopping() const;
  void on_failure(const char* what, const Status& status);
  void on_success();
  void log_result(const deploy_records::NodeResult& result);

  ExecWatchOptions options_;
  exec::BundleRunner& runner_;
  KvChannel& channel_;
  std::shared_ptr<spdlog::logger> logger_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;              // guarded by mutex_
  bool finished_ = false;          // guarded by mutex_: run() returned
  uint64_t bundle_index_ = 0;      // guarded by mutex_
  uint64_t results_written_ = 0;   // guarded by mutex_
  // Watch thread only.
  std::chrono::milliseconds backoff_{0};
  int failures_ = 0;
};

}  // namespace roster::rpc
