#pragma once

// Playbooks as plain data: what the loader produces and the planner reads.
// Nothing here knows about YAML; every element remembers where it was written.

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/playbook/selector.h"

namespace roster::deploy {

struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based; 0 when not tied to a line
};

struct PlaybookError {
  std::string file;
  int line = 0;
  std::string message;

  // "file:line: message" (or "file: message" without a line).
  std::string to_string() const;
};

// A module argument: a string, a list of strings (command argv, package names)
// or a map of strings (the tags a `tag` task sets).
using ArgValue = std::variant<std::string, std::vector<std::string>, std::map<std::string, std::string>>;

struct TaskArg {
  ArgValue value;
  int line = 0;
};

struct Task {
  std::string name;
  std::string module;  // file, copy, template, lineinfile, command, package, service, tag
  std::map<std::string, TaskArg> args;
  std::optional<Selector> when;  // keys: tag names, or `vars.NAME` for a playbook var
  std::vector<std::string> notify;
  SourceLocation location;
  int when_line = 0;
  int notify_line = 0;
};

// `serial`: how many nodes of the role are configured at once.
struct Serial {
  bool percent = false;
  int value = 0;  // a count, or 1-100 when percent; 0 means all at once
};

struct Playbook {
  std::string name;
  Selector hosts;
  bool hosts_valid = true;  // false when `hosts` was missing or malformed (already reported)
  std::map<std::string, std::string> vars;
  std::map<std::string, int> var_lines;
  std::vector<Task> tasks;
  std::vector<Task> handlers;
  Serial serial;
  int max_fail_percentage = 0;
  SourceLocation location;
  int hosts_line = 0;
};

}  // namespace roster::deploy
