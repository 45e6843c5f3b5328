#include "agent/exec/executor.h"

#include <cassert>
#include <set>

#include "agent/exec/module.h"

namespace roster::exec {

Executor::Executor(ExecOptions options, ExecContext context)
    : options_(std::move(options)), context_(std::move(context)) {
  assert(context_.env && context_.attributes && context_.packages && context_.services && context_.commands &&
         context_.tags && "every ExecContext interface must be set");
  context_.exec_root = options_.exec_root;
}

namespace {

Status validate(const Bundle& bundle, const std::vector<std::string>& pending_handlers) {
  std::set<std::string, std::less<>> handler_names;
  for (const Task& handler : bundle.handlers) {
    if (find_module(handler.module) == nullptr) {
      return Status::invalid_argument("handler '" + handler.name + "': unknown module '" + handler.module + "'");
    }
    handler_names.insert(handler.name);
  }
  for (const Task& task : bundle.tasks) {
    if (find_module(task.module) == nullptr) {
      return Status::invalid_argument("task '" + task.name + "': unknown module '" + task.module + "'");
    }
    for (const std::string& notified : task.notify) {
      if (!handler_names.contains(notified)) {
        return Status::invalid_argument("task '" + task.name + "' notifies '" + notified + "', which is not a handler");
      }
    }
  }
  for (const std::string& pending : pending_handlers) {
    if (!handler_names.contains(pending)) {
      return Status::invalid_argument("pending handler '" + pending + "' is not in this bundle");
    }
  }
  return Status::ok();
}

}  // namespace

Result<RunReport> Executor::run(const Bundle& bundle, const std::vector<std::string>& pending_handlers,
                                RunMode mode) {
  if (!options_.enabled) {
    return Status::permission_denied("exec is disabled on this agent; enable it in the agent's config (exec.enabled)");
  }
  if (options_.exec_root.empty()) return Status::invalid_argument("exec root is empty; use \"/\" for the real root");
  if (context_.attributes->kind(options_.exec_root) != FileKind::directory) {
    return Status::invalid_argument("exec root " + options_.exec_root + " is not a directory");
  }
  Status valid = validate(bundle, pending_handlers);
  if (!valid.is_ok()) return valid;

  bool checking = mode == RunMode::check;
  RunReport report;
  std::set<std::string, std::less<>> notified(pending_handlers.begin(), pending_handlers.end());
  bool change_ahead = false;  // check mode: an earlier task would change something

  auto run_one = [&](const Task& task) {
    const Module& module = *find_module(task.module);
    TaskResult result;
    if (checking && change_ahead && !module.predictable(task.args)) {
      result.status = TaskStatus::unknown;
      result.message = "depends on an earlier task's change; cannot be predicted in check mode";
    } else {
      result = checking ? module.check(task.args, context_) : module.apply(task.args, context_);
      if (checking && change_ahead && result.status == TaskStatus::failed) {
        result.status = TaskStatus::unknown;
        result.message = "may depend on an earlier task's change: " + result.message;
      }
    }
    result.name = task.name;
    result.module = task.module;
    if (result.status == TaskStatus::changed) {
      ++report.changed;
      change_ahead = true;
    }
    return result;
  };

  for (const Task& task : bundle.tasks) {
    if (report.failed) {
      report.tasks.push_back({task.name, task.module, TaskStatus::skipped, "skipped: an earlier task failed", ""});
      continue;
    }
    TaskResult result = run_one(task);
    if (result.status == TaskStatus::failed) report.failed = true;
    if (result.status == TaskStatus::changed || result.status == TaskStatus::unknown) {
      notified.insert(task.notify.begin(), task.notify.end());
    }
    report.tasks.push_back(std::move(result));
  }

  if (checking) {
    if (!report.failed) {
      for (const Task& handler : bundle.handlers) {
        if (notified.contains(handler.name)) report.handlers.push_back(run_one(handler));
      }
    }
    report.pending_handlers = pending_handlers;
    return report;
  }

  bool handler_failed = report.failed;
  for (const Task& handler : bundle.handlers) {
    if (!notified.contains(handler.name)) continue;
    if (handler_failed) {
      report.pending_handlers.push_back(handler.name);
      continue;
    }
    TaskResult result = run_one(handler);
    if (result.status == TaskStatus::failed) {
      handler_failed = true;
      report.failed = true;
      report.pending_handlers.push_back(handler.name);
    }
    report.handlers.push_back(std::move(result));
  }
  return report;
}

}  // namespace roster::exec
