#include "agent/rpc/exec_watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace roster::rpc {

ExecWatch::ExecWatch(ExecWatchOptions options, exec::BundleRunner& runner, KvChannel& channel,
                     std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      runner_(runner),
      channel_(channel),
      logger_(logger ? std::move(logger) : spdlog::default_logger()) {}

ExecWatch::~ExecWatch() { stop(); }

void ExecWatch::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    run();
    std::lock_guard lock(mutex_);
    finished_ = true;
    wake_.notify_all();
  });
}

void ExecWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  channel_.cancel();
  if (thread_.joinable()) thread_.join();
}

bool ExecWatch::stop_within(std::chrono::milliseconds deadline) {
  if (!thread_.joinable()) return true;
  {
    std::unique_lock lock(mutex_);
    stop_ = true;
    wake_.notify_all();
  }
  channel_.cancel();
  {
    std::unique_lock lock(mutex_);
    if (!wake_.wait_for(lock, deadline, [this] { return finished_; })) return false;
  }
  thread_.join();
  return true;
}

uint64_t ExecWatch::bundle_index() const {
  std::lock_guard lock(mutex_);
  return bundle_index_;
}

uint64_t ExecWatch::results_written() const {
  std::lock_guard lock(mutex_);
  return results_written_;
}

bool ExecWatch::stopping() const {
  std::lock_guard lock(mutex_);
  return stop_;
}

bool ExecWatch::sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, duration, [this] { return stop_; });
  return !stop_;
}

void ExecWatch::on_failure(const char* what, const Status& status) {
  if (failures_++ == 0) {
    logger_->warn("exec: cannot {} ({}); retrying with backoff up to {}s", what, status.message(),
                  options_.max_backoff.count() / 1000.0);
  }
  backoff_ = backoff_.count() == 0 ? options_.min_backoff : std::min(backoff_ * 2, options_.max_backoff);
}

void ExecWatch::on_success() {
  if (failures_ > 0) logger_->info("exec: the catalog answers again, after {} failed attempts", failures_);
  failures_ = 0;
  backoff_ = std::chrono::milliseconds(0);
}

template <typename Attempt>
bool ExecWatch::until_done(const char* what, Attempt attempt) {
  while (!stopping()) {
    Status status = attempt();
    if (status.is_ok()) {
      on_success();
      return true;
    }
    if (stopping()) return false;
    on_failure(what, status);
    if (!sleep_for(backoff_)) return false;
  }
  return false;
}

void ExecWatch::log_result(const deploy_records::NodeResult& result) {
  if (result.status == "refused") {
    logger_->warn("exec: refused bundle generation {} (run {}): {}", result.generation,
                  result.run_id.empty() ? "?" : result.run_id, result.error);
    return;
  }
  const auto failed = std::count_if(result.tasks.begin(), result.tasks.end(),
                                    [](const auto& task) { return task.status == "failed"; }) +
                      std::count_if(result.handlers.begin(), result.handlers.end(),
                                    [](const auto& task) { return task.status == "failed"; });
  const char* verb = result.status == "applied" ? "applied" : "failed";
  if (result.check_mode) verb = result.status == "applied" ? "checked" : "failed to check";
  auto level = result.status == "applied" ? spdlog::level::info : spdlog::level::warn;
  logger_->log(level, "exec: {} bundle generation {} (run {}): {} changed, {} failed{}{}", verb, result.generation,
               result.run_id, result.changed, failed, result.error.empty() ? "" : "; ", result.error);
}

void ExecWatch::run() {
  const std::string bundle_key = deploy_records::bundle_key(options_.node);
  const std::string result_key = deploy_records::result_key(options_.node);

  Result<std::optional<deploy_records::NodeResult>> started = runner_.start();
  if (!started.is_ok()) {
    logger_->error("exec: cannot read the exec state, so no bundle will run: {}", started.status().message());
    return;
  }
  if (*started) {
    const deploy_records::NodeResult& interrupted = **started;
    logger_->warn("exec: bundle generation {} (run {}) was interrupted by a restart; it runs again",
                  interrupted.generation, interrupted.run_id);
    const std::string json = deploy_records::to_json(interrupted);
    if (!until_done("write the interrupted result", [&] { return channel_.put(result_key, json); })) return;
  }
  if (options_.facts) {
    const std::string json = deploy_records::to_json(*options_.facts);
    if (!until_done("write this node's facts",
                    [&] { return channel_.put(deploy_records::facts_key(options_.node), json); })) {
      return;
    }
  }

  uint64_t index = 0;
  // The index a read returns may move for other keys too (our own results);
  // the same bytes are never handled twice, or a refusal would answer itself.
  std::optional<std::string> last_handled;
  while (!stopping()) {
    Result<KvRead> read = channel_.get(bundle_key, index, options_.wait);
    if (!read.is_ok()) {
      if (stopping()) return;
      on_failure("watch the bundle key", read.status());
      if (!sleep_for(backoff_)) return;
      continue;
    }
    on_success();
    // An index that went backwards (a restored snapshot) is a change too; the
    // next query blocks on the index the catalog has now.
    const bool changed = index == 0 || read->index != index;
    if (changed && read->value && read->value != last_handled) {
      last_handled = read->value;
      std::optional<deploy_records::NodeResult> result =
          runner_.handle(*read->value, [&](const deploy_records::NodeResult& running) {
            logger_->info("exec: running bundle generation {} (run {})", running.generation, running.run_id);
            // Best effort: the final result follows anyway.
            if (Status status = channel_.put(result_key, deploy_records::to_json(running)); !status.is_ok()) {
              logger_->warn("exec: cannot write the running result: {}", status.message());
            }
          });
      if (result) {
        log_result(*result);
        const std::string json = deploy_records::to_json(*result);
        if (!until_done("write the bundle's result", [&] { return channel_.put(result_key, json); })) return;
        std::lock_guard lock(mutex_);
        ++results_written_;
      }
    }
    index = std::max<uint64_t>(read->index, 1);
    std::lock_guard lock(mutex_);
    bundle_index_ = index;
  }
}

}  // namespace roster::rpc
