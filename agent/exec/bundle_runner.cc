#include "agent/exec/bundle_runner.h"

#include <algorithm>

#include "agent/exec/bundle_codec.h"

namespace roster::exec {

namespace {

deploy_records::TaskRecord to_record(const TaskResult& result) {
  return {result.name, result.module, task_status_name(result.status), result.message, result.diff};
}

}  // namespace

BundleRunner::BundleRunner(BundleRunnerOptions options, ExecContext context, ExecStateStore& state,
                           const Clock& clock)
    : options_(std::move(options)), context_(std::move(context)), store_(state), clock_(clock) {}

int64_t BundleRunner::now_unix_ms() const { return clock_.unix_nanos() / 1'000'000; }

Result<std::optional<deploy_records::NodeResult>> BundleRunner::start() {
  Result<ExecState> loaded = store_.load();
  if (!loaded.is_ok()) return loaded.status();
  state_ = std::move(loaded).value();
  started_ = true;
  if (state_.running_generation == 0) return std::optional<deploy_records::NodeResult>();
  deploy_records::NodeResult result;
  result.node = options_.node;
  result.node_id = options_.node_id;
  result.generation = state_.running_generation;
  result.hash = state_.running_hash;
  result.run_id = state_.running_run_id;
  result.status = "interrupted";
  result.started_unix_ms = state_.running_started_unix_ms;
  result.finished_unix_ms = now_unix_ms();
  result.error = "the agent stopped while running this bundle; it runs it again";
  result.pending_handlers = state_.pending_handlers;
  return std::optional<deploy_records::NodeResult>(std::move(result));
}

deploy_records::NodeResult BundleRunner::refused(std::string_view bytes, std::string reason) const {
  deploy_records::NodeResult result;
  result.node = options_.node;
  result.node_id = options_.node_id;
  // What the bundle claims, unverified, so whoever reads the result can tell
  // which bundle was refused.
  if (Result<OpenedBundle> claimed = decode_bundle_unverified(bytes); claimed.is_ok()) {
    result.generation = claimed->meta.generation;
    result.hash = claimed->meta.content_hash;
    result.run_id = claimed->meta.run_id;
    result.check_mode = claimed->meta.check_mode;
  }
  result.status = "refused";
  result.started_unix_ms = result.finished_unix_ms = now_unix_ms();
  result.error = std::move(reason);
  result.pending_handlers = state_.pending_handlers;
  return result;
}

std::optional<deploy_records::NodeResult> BundleRunner::handle(std::string_view bytes,
                                                               const RunningCallback& on_running) {
  if (!started_) return refused(bytes, "the exec state was not loaded");
  if (state_.last_generation != 0 && state_.running_generation == 0) {
    Result<OpenedBundle> claimed = decode_bundle_unverified(bytes);
    if (claimed.is_ok() && claimed->meta.generation == state_.last_generation &&
        claimed->meta.content_hash == state_.last_hash) {
      // Only the genuine bundle is passed over: the same claims with a bad
      // signature (tampered bytes) are refused below. Expiry does not
      // matter here, since the bundle is not run again.
      OpenPolicy genuine;
      genuine.node_id = options_.node_id;
      genuine.trusted_keys = options_.trusted_keys;
      if (open_bundle(bytes, genuine).is_ok()) return std::nullopt;
    }
  }
  if (!options_.exec.enabled) return refused(bytes, "exec is disabled on this node (exec.enabled is false)");

  OpenPolicy policy;
  policy.node_id = options_.node_id;
  policy.last_generation = state_.last_generation;
  policy.resume_generation = state_.running_generation;
  policy.now_unix_ms = now_unix_ms();
  policy.trusted_keys = options_.trusted_keys;
  Result<OpenedBundle> opened = open_bundle(bytes, policy);
  if (!opened.is_ok()) return refused(bytes, opened.status().message());
  const BundleMeta& meta = opened->meta;
  const Bundle& bundle = opened->bundle;

  deploy_records::NodeResult result;
  result.node = options_.node;
  result.node_id = options_.node_id;
  result.generation = meta.generation;
  result.hash = meta.content_hash;
  result.run_id = meta.run_id;
  result.check_mode = meta.check_mode;
  result.started_unix_ms = now_unix_ms();
  result.status = "running";

  // A handler the new bundle no longer defines means nothing any more.
  std::vector<std::string> pending;
  for (const std::string& name : state_.pending_handlers) {
    if (std::any_of(bundle.handlers.begin(), bundle.handlers.end(), [&](const Task& h) { return h.name == name; })) {
      pending.push_back(name);
    }
  }
  result.pending_handlers = pending;

  ExecState running = state_;
  running.running_generation = meta.generation;
  running.running_hash = meta.content_hash;
  running.running_run_id = meta.run_id;
  running.running_started_unix_ms = result.started_unix_ms;
  if (Status saved = store_.save(running); !saved.is_ok()) {
    // Without the record a kill mid-run would go unnoticed: run nothing.
    result.status = "failed";
    result.finished_unix_ms = now_unix_ms();
    result.error = "cannot record the run in the data dir: " + saved.message();
    return result;
  }
  state_ = running;
  if (on_running) on_running(result);

  Executor executor(options_.exec, context_);
  Result<RunReport> report =
      executor.run(bundle, pending, meta.check_mode ? RunMode::check : RunMode::apply);
  result.finished_unix_ms = now_unix_ms();
  ExecState finished = state_;
  finished.running_generation = 0;
  finished.running_hash.clear();
  finished.running_run_id.clear();
  finished.running_started_unix_ms = 0;
  finished.last_generation = std::max(state_.last_generation, meta.generation);
  finished.last_hash = meta.content_hash;
  finished.last_run_id = meta.run_id;
  if (!report.is_ok()) {
    result.status = "failed";
    result.error = report.status().message();
  } else {
    for (const TaskResult& task : report->tasks) result.tasks.push_back(to_record(task));
    for (const TaskResult& handler : report->handlers) result.handlers.push_back(to_record(handler));
    result.changed = report->changed;
    result.pending_handlers = report->pending_handlers;
    finished.pending_handlers = report->pending_handlers;
    result.status = report->failed ? "failed" : "applied";
    if (report->failed) {
      auto is_failed = [](const TaskResult& t) { return t.status == TaskStatus::failed; };
      auto task = std::find_if(report->tasks.begin(), report->tasks.end(), is_failed);
      auto handler = std::find_if(report->handlers.begin(), report->handlers.end(), is_failed);
      const TaskResult* first = task != report->tasks.end() ? &*task
                                : handler != report->handlers.end() ? &*handler
                                                                    : nullptr;
      if (first != nullptr) result.error = "task \"" + first->name + "\" failed: " + first->message;
    }
  }
  if (Status saved = store_.save(finished); !saved.is_ok()) {
    // The next start reports it interrupted and runs it again: the tasks are idempotent.
    if (!result.error.empty()) result.error += "; ";
    result.error += "cannot record the finished run: " + saved.message();
  }
  state_ = std::move(finished);
  return result;
}

}  // namespace roster::exec
