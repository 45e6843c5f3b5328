#pragma once

// Executor: applies a bundle's tasks in order on this node.
//
//   - A failed task stops the run; the tasks after it are reported skipped.
//   - A task that reports changed notifies its handlers. Notified handlers run
//     once each, after the last task, in the order the bundle lists them, and
//     only if no task failed.
//   - When a task fails, the handlers notified so far (and those carried in)
//     are not run: they come back in RunReport::pending_handlers, which the
//     caller persists and passes to the next run, where they run at the end if
//     that run succeeds. A handler that itself fails stays pending, with those
//     after it.
//   - Check mode calls only Module::check: nothing changes, and each task
//     shows the diff it would make. Once a task would change something, a
//     later task whose module cannot be predicted (a command, a service
//     restart), or whose check fails, reports unknown: it may depend on that
//     change. Pending handlers are returned unchanged.
//   - Exec is off unless ExecOptions::enabled: run() then refuses with
//     permission_denied and touches nothing.
//
// Thread affinity: one run() at a time per Executor (the services in the
// context are not assumed to be thread-safe).

#include <string>
#include <vector>

#include "agent/exec/exec_context.h"
#include "agent/exec/task.h"
#include "common/status.h"

namespace roster::exec {

struct ExecOptions {
  bool enabled = false;
  // Prefixed to every path a task names ("-exec-root DIR" or exec.root in the
  // config). "/" is the real root.
  std::string exec_root;
};

struct Bundle {
  std::vector<Task> tasks;
  std::vector<Task> handlers;  // Task::name is the name tasks notify
};

enum class RunMode { apply, check };

struct RunReport {
  std::vector<TaskResult> tasks;     // one per bundle task, in order
  std::vector<TaskResult> handlers;  // the handlers that ran (or were checked)
  std::vector<std::string> pending_handlers;
  int changed = 0;                   // tasks and handlers that reported changed
  bool failed = false;
};

class Executor {
 public:
  // REQUIRES: every pointer in `context` is set. Its exec_root is replaced by
  // options.exec_root. What they point to is not owned and must outlive the
  // Executor.
  Executor(ExecOptions options, ExecContext context);

  // invalid_argument (before anything runs) for an unknown module, a notify
  // naming no handler, a pending handler the bundle does not define, or an
  // exec root that is empty or not an existing directory; permission_denied when exec is disabled. A task that
  // fails is a failed result in the report, not an error here.
  Result<RunReport> run(const Bundle& bundle, const std::vector<std::string>& pending_handlers, RunMode mode);

 private:
  ExecOptions options_;
  ExecContext context_;
};

}  // namespace roster::exec
