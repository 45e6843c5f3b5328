#pragma once

// A task as the agent's executor receives it, and what running it reports.
// Plain data: no behaviour beyond reading arguments, so bundles can be
// decoded, hashed and stored without pulling in the modules.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace roster::exec {

using StringList = std::vector<std::string>;
using ArgValue = std::variant<std::string, bool, int64_t, StringList>;
// Ordered so that a task's text form (and its hash) does not depend on insertion order.
using Args = std::map<std::string, ArgValue, std::less<>>;

struct Task {
  std::string name;
  std::string module;  // "file", "copy", "template", "lineinfile", "command", "package", "service", "tag"
  Args args;
  StringList notify;   // handler names, notified when this task reports changed
};

enum class TaskStatus {
  ok,       // already in the desired state
  changed,  // changed (or, in check mode, would change) something
  failed,
  skipped,  // not run because an earlier task failed
  unknown,  // check mode: the outcome depends on an earlier task's change
};

const char* task_status_name(TaskStatus status);

struct TaskResult {
  std::string name;
  std::string module;
  TaskStatus status = TaskStatus::ok;
  std::string message;
  std::string diff;  // unified-style ("--- before" / "+++ after"); empty when nothing differs
};

// Argument readers. Each returns invalid_argument naming the key when the
// value has the wrong type; the *_or forms return `fallback` when the key is
// absent; the others return invalid_argument ("missing argument") then.
Result<std::string> string_arg(const Args& args, std::string_view key);
Result<std::string> string_arg_or(const Args& args, std::string_view key, std::string fallback);
Result<bool> bool_arg_or(const Args& args, std::string_view key, bool fallback);
Result<int64_t> int_arg_or(const Args& args, std::string_view key, int64_t fallback);
// A list, or a single string read as a list of one; empty when absent.
Result<StringList> list_arg(const Args& args, std::string_view key);
bool has_arg(const Args& args, std::string_view key);

// A line diff of `before` and `after`: the common leading and trailing lines
// are kept as context, the rest shown as removed then added. Empty when equal.
std::string unified_diff(std::string_view label, std::string_view before, std::string_view after);

}  // namespace roster::exec
