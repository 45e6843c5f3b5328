// The eight modules. Each is written once as run(args, context, act): with
// act false it only looks, which is check(); with act true it changes what it
// found wrong, which is apply(). Sharing one path is what keeps a dry run's
// diff honest about what apply would do.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "agent/exec/module.h"

namespace roster::exec {
namespace {

TaskResult failed(std::string message) { return {{}, {}, TaskStatus::failed, std::move(message), {}}; }
TaskResult failed(const Status& status) { return failed(status.to_string()); }
TaskResult ok_result(std::string message) { return {{}, {}, TaskStatus::ok, std::move(message), {}}; }
TaskResult changed_result(std::string message, std::string diff) {
  return {{}, {}, TaskStatus::changed, std::move(message), std::move(diff)};
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

std::string octal(uint32_t mode) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04o", mode);
  return buffer;
}

// A mode is "0644" (octal text, as Ansible users write it, quoted) or an
// integer taken as the mode's value (YAML 1.1 reads an unquoted 0644 as octal).
Result<std::optional<uint32_t>> mode_arg(const Args& args) {
  auto found = args.find(std::string_view("mode"));
  if (found == args.end()) return std::optional<uint32_t>();
  if (const auto* number = std::get_if<int64_t>(&found->second)) {
    if (*number < 0 || *number > 07777) return Status::invalid_argument("mode out of range");
    return std::optional<uint32_t>(static_cast<uint32_t>(*number));
  }
  if (const auto* text = std::get_if<std::string>(&found->second)) {
    if (text->empty() || text->size() > 5 || text->find_first_not_of("01234567") != std::string::npos) {
      return Status::invalid_argument("mode '" + *text + "' is not octal like \"0644\"");
    }
    return std::optional<uint32_t>(static_cast<uint32_t>(std::stoul(*text, nullptr, 8)));
  }
  return Status::invalid_argument("mode must be octal text like \"0644\" or an integer");
}

class PlanningModule : public Module {
 public:
  TaskResult check(const Args& args, ExecContext& context) const final { return run(args, context, false); }
  TaskResult apply(const Args& args, ExecContext& context) const final { return run(args, context, true); }
  bool predictable(const Args&) const override { return true; }

 protected:
  virtual TaskResult run(const Args& args, ExecContext& context, bool act) const = 0;
};

// Mode and owner of something that exists (or, when !act, may not exist yet:
// then there is nothing to compare and creating it is already the change).
Status settle_attributes(const Args& args, ExecContext& context, const std::string& path, bool act,
                         std::vector<std::string>& changes, std::vector<std::string>& notes) {
  Result<std::optional<uint32_t>> mode = mode_arg(args);
  if (!mode.is_ok()) return mode.status();
  Result<std::string> owner = string_arg_or(args, "owner", "");
  if (!owner.is_ok()) return owner.status();
  if (context.attributes->kind(path) == FileKind::missing) return Status::ok();
  if (mode->has_value()) {
    Result<uint32_t> current = context.attributes->mode(path);
    if (!current.is_ok()) return current.status();
    if (*current != **mode) {
      changes.push_back("mode " + octal(*current) + " -> " + octal(**mode));
      if (act) {
        Status status = context.attributes->set_mode(path, **mode);
        if (!status.is_ok()) return status;
      }
    }
  }
  if (!owner->empty()) {
    if (!context.running_as_root) {
      notes.push_back("owner " + *owner + " not applied: the agent is not running as root");
    } else {
      Result<std::string> current = context.attributes->owner(path);
      if (!current.is_ok()) return current.status();
      if (*current != *owner) {
        changes.push_back("owner " + *current + " -> " + *owner);
        if (act) {
          Status status = context.attributes->set_owner(path, *owner);
          if (!status.is_ok()) return status;
        }
      }
    }
  }
  return Status::ok();
}

TaskResult finish(const std::string& path, const std::vector<std::string>& changes,
                  const std::vector<std::string>& notes, std::string diff) {
  std::string message = path;
  if (!changes.empty()) message += ": " + join(changes, ", ");
  if (!notes.empty()) message += " (" + join(notes, "; ") + ")";
  if (changes.empty()) return ok_result(std::move(message));
  return changed_result(std::move(message), std::move(diff));
}

// Replaces a file's contents atomically, keeping its mode (the Env writes a
// new inode, which would otherwise come back with the default mode).
Status write_contents(ExecContext& context, const std::string& path, std::string_view bytes) {
  std::optional<uint32_t> old_mode;
  if (context.attributes->kind(path) == FileKind::file) {
    Result<uint32_t> mode = context.attributes->mode(path);
    if (mode.is_ok()) old_mode = *mode;
  }
  Status status = write_file_atomically(*context.env, path, bytes);
  if (!status.is_ok() || !old_mode) return status;
  return context.attributes->set_mode(path, *old_mode);
}

// ---- file ----

class FileModule final : public PlanningModule {
 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<std::string> named = string_arg(args, "path");
    if (!named.is_ok()) return failed(named.status());
    Result<std::string> path = resolve_path(context, *named);
    if (!path.is_ok()) return failed(path.status());
    Result<std::string> state = string_arg_or(args, "state", "file");
    if (!state.is_ok()) return failed(state.status());
    FileKind kind = context.attributes->kind(*path);
    std::vector<std::string> changes;
    std::vector<std::string> notes;
    std::string diff;

    if (*state == "absent") {
      if (kind == FileKind::missing) return ok_result(*named + " is absent");
      if (kind == FileKind::directory) return failed(*named + " is a directory; the file module does not remove directories");
      changes.push_back("removed");
      diff = "--- " + *named + " (before)\n+++ " + *named + " (absent)\n";
      if (act) {
        Status status = kind == FileKind::link ? context.attributes->remove_link(*path) : context.env->remove_file(*path);
        if (!status.is_ok()) return failed(status);
      }
      return finish(*named, changes, notes, diff);
    }
    if (*state == "directory") {
      if (kind == FileKind::missing) {
        changes.push_back("directory created");
        diff = "--- " + *named + " (absent)\n+++ " + *named + " (directory)\n";
        if (act) {
          Status status = context.env->create_directory(*path);
          if (!status.is_ok()) return failed(status);
        }
      } else if (kind != FileKind::directory) {
        return failed(*named + " exists and is not a directory");
      }
    } else if (*state == "file") {
      if (kind == FileKind::missing) return failed(*named + " does not exist (state=file does not create files; use copy)");
      if (kind != FileKind::file) return failed(*named + " exists and is not a regular file");
    } else if (*state == "link") {
      Result<std::string> source = string_arg(args, "src");
      if (!source.is_ok()) return failed(source.status());
      std::string target = *source;
      if (!target.empty() && target.front() == '/') {
        Result<std::string> rooted = resolve_path(context, target);
        if (!rooted.is_ok()) return failed(rooted.status());
        target = *rooted;
      } else if (target.empty() || target == ".." || target.starts_with("../") || target.find("/../") != std::string::npos ||
                 target.ends_with("/..")) {
        return failed("link source '" + *source + "' must be non-empty and must not use '..'");
      }
      if (kind == FileKind::link) {
        Result<std::string> current = context.attributes->read_link(*path);
        if (!current.is_ok()) return failed(current.status());
        if (*current == target) return ok_result(*named + " links to " + *source);
        changes.push_back("link retargeted to " + *source);
        diff = "--- " + *named + " -> " + *current + "\n+++ " + *named + " -> " + target + "\n";
        if (act) {
          Status status = context.attributes->remove_link(*path);
          if (!status.is_ok()) return failed(status);
        }
      } else if (kind == FileKind::missing) {
        changes.push_back("link created to " + *source);
        diff = "--- " + *named + " (absent)\n+++ " + *named + " -> " + target + "\n";
      } else {
        return failed(*named + " exists and is not a link");
      }
      if (act) {
        Status status = context.attributes->make_link(target, *path);
        if (!status.is_ok()) return failed(status);
      }
      return finish(*named, changes, notes, diff);
    } else {
      return failed("state must be file, directory, absent or link, not '" + *state + "'");
    }
    Status status = settle_attributes(args, context, *path, act, changes, notes);
    if (!status.is_ok()) return failed(status);
    if (diff.empty() && !changes.empty()) diff = "--- " + *named + " (before)\n+++ " + *named + " (after)\n" + join(changes, "\n") + "\n";
    return finish(*named, changes, notes, diff);
  }
};

// ---- copy and template ----

class ContentModule final : public PlanningModule {
 public:
  explicit ContentModule(const char* kind_name) : kind_name_(kind_name) {}

 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<std::string> named = has_arg(args, "dest") ? string_arg(args, "dest") : string_arg(args, "path");
    if (!named.is_ok()) return failed(named.status());
    Result<std::string> path = resolve_path(context, *named);
    if (!path.is_ok()) return failed(path.status());
    Result<std::string> content = string_arg(args, "content");
    if (!content.is_ok()) return failed(content.status());
    FileKind kind = context.attributes->kind(*path);
    if (kind == FileKind::directory || kind == FileKind::link) {
      return failed(*named + " exists and is not a regular file");
    }
    std::string before;
    if (kind == FileKind::file) {
      Result<std::string> read = context.env->read_file(*path);
      if (!read.is_ok()) return failed(read.status());
      before = std::move(*read);
    }
    std::vector<std::string> changes;
    std::vector<std::string> notes;
    std::string diff;
    if (kind == FileKind::missing || before != *content) {
      changes.push_back(std::string(kind == FileKind::missing ? "created from " : "content replaced from ") + kind_name_);
      diff = unified_diff(*named, before, *content);
      if (diff.empty()) diff = "--- " + *named + " (absent)\n+++ " + *named + " (empty)\n";
      if (act) {
        Status status = write_contents(context, *path, *content);
        if (!status.is_ok()) return failed(status);
      }
    }
    Status status = settle_attributes(args, context, *path, act, changes, notes);
    if (!status.is_ok()) return failed(status);
    return finish(*named, changes, notes, diff);
  }

 private:
  const char* kind_name_;
};

// ---- lineinfile ----

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

class LineInFileModule final : public PlanningModule {
 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<std::string> named = string_arg(args, "path");
    if (!named.is_ok()) return failed(named.status());
    Result<std::string> path = resolve_path(context, *named);
    if (!path.is_ok()) return failed(path.status());
    Result<std::string> state = string_arg_or(args, "state", "present");
    if (!state.is_ok()) return failed(state.status());
    if (*state != "present" && *state != "absent") return failed("state must be present or absent");
    bool present = *state == "present";
    Result<std::string> line = present ? string_arg(args, "line") : string_arg_or(args, "line", "");
    if (!line.is_ok()) return failed(line.status());
    Result<std::string> pattern = string_arg_or(args, "regexp", "");
    if (!pattern.is_ok()) return failed(pattern.status());
    Result<bool> create = bool_arg_or(args, "create", false);
    if (!create.is_ok()) return failed(create.status());
    if (!present && pattern->empty() && line->empty()) return failed("state=absent needs line or regexp");

    std::optional<std::regex> regex;
    if (!pattern->empty()) {
      // std::regex reports a bad pattern only by throwing; the pattern comes
      // from a bundle, so this is an edge where untrusted input is checked.
      try {
        regex.emplace(*pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& error) {
        return failed("bad regexp '" + *pattern + "': " + error.what());
      }
    }

    FileKind kind = context.attributes->kind(*path);
    std::string before;
    if (kind == FileKind::missing) {
      if (!present) return ok_result(*named + " is absent");
      if (!*create) return failed(*named + " does not exist (set create: true to create it)");
    } else if (kind != FileKind::file) {
      return failed(*named + " exists and is not a regular file");
    } else {
      Result<std::string> read = context.env->read_file(*path);
      if (!read.is_ok()) return failed(read.status());
      before = std::move(*read);
    }

    std::vector<std::string> lines = split_lines(before);
    auto matches = [&](const std::string& candidate) {
      return regex ? std::regex_search(candidate, *regex) : candidate == *line;
    };
    if (present) {
      bool has_line = std::find(lines.begin(), lines.end(), *line) != lines.end();
      std::optional<size_t> last_match;
      if (regex) {
        for (size_t i = 0; i < lines.size(); ++i) {
          if (std::regex_search(lines[i], *regex)) last_match = i;
        }
      }
      if (last_match) {
        lines[*last_match] = *line;
      } else if (!has_line) {
        lines.push_back(*line);
      }
    } else {
      std::erase_if(lines, matches);
    }
    std::string after;
    for (const std::string& kept : lines) after += kept + "\n";
    if (kind == FileKind::file && after == before) return ok_result(*named + ": line already as requested");
    if (kind == FileKind::file && split_lines(after) == split_lines(before) && !before.empty() && before.back() != '\n') {
      // Only a missing final newline differs; not worth a change.
      return ok_result(*named + ": line already as requested");
    }
    if (act) {
      Status status = write_contents(context, *path, after);
      if (!status.is_ok()) return failed(status);
    }
    return changed_result(*named + ": " + (present ? "line set" : "lines removed"), unified_diff(*named, before, after));
  }
};

// ---- command ----

class CommandModule final : public PlanningModule {
 public:
  bool predictable(const Args&) const override { return false; }

 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<StringList> argv = list_arg(args, "argv");
    if (!argv.is_ok()) return failed(argv.status());
    if (argv->empty()) return failed("missing argument 'argv'");
    Result<int64_t> timeout_seconds = int_arg_or(args, "timeout", 60);
    if (!timeout_seconds.is_ok()) return failed(timeout_seconds.status());
    if (*timeout_seconds <= 0) return failed("timeout must be a positive number of seconds");
    std::chrono::milliseconds timeout = std::chrono::seconds(*timeout_seconds);

    if (has_arg(args, "creates")) {
      Result<std::string> named = string_arg(args, "creates");
      if (!named.is_ok()) return failed(named.status());
      Result<std::string> path = resolve_path(context, *named);
      if (!path.is_ok()) return failed(path.status());
      if (context.attributes->kind(*path) != FileKind::missing) return ok_result("not run: " + *named + " exists");
    }
    if (has_arg(args, "removes")) {
      Result<std::string> named = string_arg(args, "removes");
      if (!named.is_ok()) return failed(named.status());
      Result<std::string> path = resolve_path(context, *named);
      if (!path.is_ok()) return failed(path.status());
      if (context.attributes->kind(*path) == FileKind::missing) return ok_result("not run: " + *named + " does not exist");
    }
    if (has_arg(args, "unless")) {
      // The guard runs in check mode too: it is a probe, and must change nothing.
      Result<StringList> unless = list_arg(args, "unless");
      if (!unless.is_ok()) return failed(unless.status());
      if (unless->empty()) return failed("unless must name a command");
      Result<CommandOutput> probe = context.commands->run({*unless, timeout, context.exec_root});
      if (!probe.is_ok()) return failed(probe.status());
      if (probe->timed_out) return failed("unless guard timed out: " + join(*unless, " "));
      if (probe->exit_code == 0) return ok_result("not run: unless guard succeeded: " + join(*unless, " "));
    }

    std::string command_text = join(*argv, " ");
    if (!act) return changed_result("would run: " + command_text, "");
    Result<CommandOutput> output = context.commands->run({*argv, timeout, context.exec_root});
    if (!output.is_ok()) return failed(output.status());
    if (output->timed_out) {
      return failed("timed out after " + std::to_string(*timeout_seconds) + "s: " + command_text);
    }
    if (output->exit_code != 0) {
      return failed("exit " + std::to_string(output->exit_code) + ": " + command_text +
                    (output->err.empty() ? "" : ": " + output->err));
    }
    return changed_result("ran: " + command_text + (output->out.empty() ? "" : "\n" + output->out), "");
  }
};

// ---- package ----

class PackageModule final : public PlanningModule {
 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<StringList> names = list_arg(args, "name");
    if (!names.is_ok()) return failed(names.status());
    if (names->empty()) return failed("missing argument 'name'");
    Result<std::string> state = string_arg_or(args, "state", "present");
    if (!state.is_ok()) return failed(state.status());
    if (*state != "present" && *state != "absent") return failed("state must be present or absent");
    bool want_installed = *state == "present";
    std::vector<std::string> to_change;
    for (const std::string& name : *names) {
      Result<bool> installed = context.packages->installed(name);
      if (!installed.is_ok()) return failed(installed.status());
      if (*installed != want_installed) to_change.push_back(name);
    }
    if (to_change.empty()) return ok_result(join(*names, ", ") + (want_installed ? " installed" : " absent"));
    std::string diff;
    for (const std::string& name : to_change) diff += (want_installed ? "+" : "-") + name + "\n";
    if (act) {
      Status status = want_installed ? context.packages->install(to_change) : context.packages->remove(to_change);
      if (!status.is_ok()) return failed(status);
    }
    return changed_result(std::string(want_installed ? "installed: " : "removed: ") + join(to_change, ", "), diff);
  }
};

// ---- service ----

class ServiceModule final : public PlanningModule {
 public:
  bool predictable(const Args& args) const override {
    Result<std::string> state = string_arg_or(args, "state", "");
    return !state.is_ok() || (*state != "restarted" && *state != "reloaded");
  }

 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<std::string> name = string_arg(args, "name");
    if (!name.is_ok()) return failed(name.status());
    Result<std::string> state = string_arg_or(args, "state", "");
    if (!state.is_ok()) return failed(state.status());
    if (!state->empty() && *state != "started" && *state != "stopped" && *state != "restarted" &&
        *state != "reloaded") {
      return failed("state must be started, stopped, restarted or reloaded");
    }
    if (state->empty() && !has_arg(args, "enabled")) return failed("service needs state or enabled");
    Result<bool> want_enabled = bool_arg_or(args, "enabled", false);
    if (!want_enabled.is_ok()) return failed(want_enabled.status());

    std::vector<std::string> changes;
    if (!state->empty()) {
      Result<bool> active = context.services->active(*name);
      if (!active.is_ok()) return failed(active.status());
      Status status;
      if (*state == "started" && !*active) {
        changes.push_back("started");
        if (act) status = context.services->start(*name);
      } else if (*state == "stopped" && *active) {
        changes.push_back("stopped");
        if (act) status = context.services->stop(*name);
      } else if (*state == "restarted") {
        changes.push_back("restarted");
        if (act) status = context.services->restart(*name);
      } else if (*state == "reloaded") {
        changes.push_back("reloaded");
        if (act) status = context.services->reload(*name);
      }
      if (!status.is_ok()) return failed(status);
    }
    if (has_arg(args, "enabled")) {
      Result<bool> enabled = context.services->enabled(*name);
      if (!enabled.is_ok()) return failed(enabled.status());
      if (*enabled != *want_enabled) {
        changes.push_back(*want_enabled ? "enabled" : "disabled");
        if (act) {
          Status status = context.services->set_enabled(*name, *want_enabled);
          if (!status.is_ok()) return failed(status);
        }
      }
    }
    if (changes.empty()) return ok_result(*name + " already as requested");
    std::string diff;
    for (const std::string& change : changes) diff += "+" + *name + " " + change + "\n";
    return changed_result(*name + ": " + join(changes, ", "), diff);
  }
};

// ---- tag ----

class TagModule final : public PlanningModule {
 protected:
  TaskResult run(const Args& args, ExecContext& context, bool act) const override {
    Result<StringList> to_set = list_arg(args, "set");
    if (!to_set.is_ok()) return failed(to_set.status());
    Result<StringList> to_remove = list_arg(args, "remove");
    if (!to_remove.is_ok()) return failed(to_remove.status());
    if (to_set->empty() && to_remove->empty()) return failed("tag needs set (key=value) or remove (key)");
    std::map<std::string, std::string> before = context.tags->tags();
    std::map<std::string, std::string> after = before;
    for (const std::string& key : *to_remove) after.erase(key);
    for (const std::string& pair : *to_set) {
      size_t equals = pair.find('=');
      if (equals == std::string::npos || equals == 0) return failed("tag '" + pair + "' must be key=value");
      after[pair.substr(0, equals)] = pair.substr(equals + 1);
    }
    if (after == before) return ok_result("tags already as requested");
    auto render = [](const std::map<std::string, std::string>& tags) {
      std::string text;
      for (const auto& [key, value] : tags) text += key + "=" + value + "\n";
      return text;
    };
    if (act) {
      Status status = context.tags->set_tags(after);
      if (!status.is_ok()) return failed(status);
    }
    return changed_result("tags updated", unified_diff("tags", render(before), render(after)));
  }
};

}  // namespace

const Module* find_module(std::string_view name) {
  static const FileModule file;
  static const ContentModule copy("copy");
  static const ContentModule template_module("template");
  static const LineInFileModule lineinfile;
  static const CommandModule command;
  static const PackageModule package;
  static const ServiceModule service;
  static const TagModule tag;
  if (name == "file") return &file;
  if (name == "copy") return &copy;
  if (name == "template") return &template_module;
  if (name == "lineinfile") return &lineinfile;
  if (name == "command") return &command;
  if (name == "package") return &package;
  if (name == "service") return &service;
  if (name == "tag") return &tag;
  return nullptr;
}

}  // namespace roster::exec
