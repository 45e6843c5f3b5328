#pragma once

// A module: one kind of thing a task manages. check() says what apply() would
// do without doing it; apply() does it. Both report ok when the node is
// already as the task asks, so applying a task twice reports changed then ok.
//
// Neither throws. Bad arguments (untrusted: they come from a bundle) are a
// failed result naming the argument, never an assert.

#include <string_view>

#include "agent/exec/exec_context.h"
#include "agent/exec/task.h"

namespace roster::exec {

class Module {
 public:
  virtual ~Module() = default;
  // Planned result: ok, changed (with the diff it would make) or failed.
  // Changes nothing.
  virtual TaskResult check(const Args& args, ExecContext& context) const = 0;
  virtual TaskResult apply(const Args& args, ExecContext& context) const = 0;
  // False when check() cannot know the outcome once an earlier task has
  // changed something (a command, a service restart): check mode then
  // reports unknown.
  virtual bool predictable(const Args& args) const = 0;
};

// The module named `name` ("file", "copy", "template", "lineinfile",
// "command", "package", "service", "tag"), or nullptr. Modules are stateless
// singletons that live for the whole program.
const Module* find_module(std::string_view name);

}  // namespace roster::exec
