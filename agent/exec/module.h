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

// The modules and their arguments (paths are absolute, under the exec root):
//
//   file        path; state file (default: must exist, settles mode/owner) |
//               directory (created with parents) | absent (files and links;
//               directories are refused, never removed recursively) | link
//               (src: absolute, taken under the root, or relative without
//               '..'; an existing link is retargeted, a file is not replaced);
//               mode ("0644" or an integer); owner (applied only when the
//               agent runs as root, else noted in the message).
//   copy        dest (or path), content, mode, owner. Writes atomically and
//               keeps the old mode unless one is given. Refuses links and
//               directories at dest.
//   template    as copy; the content is what the deploy server rendered.
//   lineinfile  path, line, regexp (ECMAScript; the last match is replaced,
//               else the line is appended unless present), state present |
//               absent (removes lines matching regexp, or equal to line),
//               create (default false).
//   command     argv (a list; no shell), timeout (seconds, default 60),
//               creates / removes (paths), unless (argv: a probe, run even in
//               check mode, so it must change nothing). Reports changed
//               whenever it runs; failed on a non-zero exit or the timeout.
//   package     name (one or a list), state present | absent.
//   service     name, state started | stopped | restarted | reloaded (the
//               last two always report changed),
//               enabled (bool). Needs state or enabled.
//   tag         set (list of key=value), remove (list of keys); changed only
//               when the node's tags differ afterwards.
//
// The module named `name` ("file", "copy", "template", "lineinfile",
// "command", "package", "service", "tag"), or nullptr. Modules are stateless
// singletons that live for the whole program.
const Module* find_module(std::string_view name);

}  // namespace roster::exec
