#include "server/deploy/bundle_builder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "agent/exec/bundle_codec.h"
#include "common/duration.h"
#include "server/playbook/render.h"

namespace roster::deploy {
namespace {

// How an exec module reads an argument (agent/exec/modules.cc): most are
// text; these are not.
enum class ArgType { text, list, flag, seconds };

ArgType arg_type(const std::string& module, const std::string& name) {
  if (module == "command" && (name == "argv" || name == "unless")) return ArgType::list;
  if (module == "command" && name == "timeout") return ArgType::seconds;
  if (module == "package" && name == "name") return ArgType::list;
  if (module == "service" && name == "enabled") return ArgType::flag;
  if (module == "lineinfile" && name == "create") return ArgType::flag;
  return ArgType::text;
}

std::string at(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) + ": " : file + ": ";
}

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

class Builder {
 public:
  Builder(const NodeView& node, const TemplateSource& templates) : node_(node), templates_(templates) {}

  Result<BuiltBundle> build(const std::vector<Playbook>& playbooks) {
    BuiltBundle built;
    std::map<std::string, const Playbook*> handler_owner;
    for (const Playbook& play : playbooks) {
      if (!play.hosts_valid) {
        return Status::invalid_argument(at(play.location.file, play.location.line) + "play " + in_quotes(play.name) +
                                        " has no valid hosts selector; fix it before deploying");
      }
      if (!play.hosts.matches(node_.tags)) continue;
      for (const Task& handler : play.handlers) {
        auto [owner, inserted] = handler_owner.emplace(handler.name, &play);
        if (!inserted) {
          return Status::invalid_argument(
              at(handler.location.file, handler.location.line) + "handler " + in_quotes(handler.name) + " of play " +
              in_quotes(play.name) + " has the same name as a handler of play " + in_quotes(owner->second->name) + " (" +
              owner->second->location.file + "), and node " + node_.name + " matches both plays; rename one");
        }
      }
      Status status = add_play(play, built.bundle);
      if (!status.is_ok()) return status;
      built.playbooks.push_back(play.name);
    }
    // Names, hash and signature around the content take well under this.
    constexpr size_t kEnvelopeAllowance = 64 * 1024;
    const size_t size = exec::content_size(built.bundle, built.playbooks);
    if (size + kEnvelopeAllowance > exec::kMaxBundleBytes) {
      return Status::invalid_argument("the bundle for node " + node_.name + " would hold " + std::to_string(size) +
                                      " bytes of tasks; agents refuse bundles over " +
                                      std::to_string(exec::kMaxBundleBytes) + " bytes (look for a large template)");
    }
    built.hash = exec::content_hash(built.bundle, built.playbooks);
    return built;
  }

 private:
  Status add_play(const Playbook& play, exec::Bundle& bundle) {
    variables_ = RenderVariables{play.vars, node_.name, node_.address, node_.tags, std::nullopt};
    if (node_.facts) {
      variables_.facts = RenderFacts{node_.facts->hostname, node_.facts->os_release, std::to_string(node_.facts->cpus),
                                     std::to_string(node_.facts->memory_bytes / (1024 * 1024))};
    }
    // `when:` keys are tag names, or vars.NAME for the play's vars; a tag
    // that happens to start with "vars." cannot shadow a var.
    when_keys_.clear();
    for (const auto& [key, value] : node_.tags)
      if (key.rfind("vars.", 0) != 0) when_keys_[key] = value;
    for (const auto& [name, value] : play.vars) when_keys_["vars." + name] = value;

    std::vector<exec::Task> tasks;
    std::set<std::string> notified;
    for (const Task& task : play.tasks) {
      Result<bool> runs = included(play, task);
      if (!runs.is_ok()) return runs.status();
      if (!*runs) continue;
      Result<exec::Task> converted = convert(task);
      if (!converted.is_ok()) return converted.status();
      notified.insert(task.notify.begin(), task.notify.end());
      tasks.push_back(std::move(*converted));
    }
    std::set<std::string> handler_names;
    for (const Task& handler : play.handlers) {
      if (!notified.count(handler.name)) continue;
      Result<bool> runs = included(play, handler);
      if (!runs.is_ok()) return runs.status();
      if (!*runs) continue;
      Result<exec::Task> converted = convert(handler);
      if (!converted.is_ok()) return converted.status();
      handler_names.insert(handler.name);
      bundle.handlers.push_back(std::move(*converted));
    }
    // A handler left out by its own `when:` cannot be notified.
    for (exec::Task& task : tasks) {
      std::erase_if(task.notify, [&](const std::string& name) { return !handler_names.count(name); });
      bundle.tasks.push_back(std::move(task));
    }
    return Status::ok();
  }

  Result<bool> included(const Playbook& play, const Task& task) const {
    if (!task.when) return true;
    for (const SelectorTerm& term : task.when->terms()) {
      if (term.key.rfind("vars.", 0) == 0 && !play.vars.count(term.key.substr(5))) {
        return Status::invalid_argument(at(task.location.file, task.when_line) + "task " + in_quotes(task.name) +
                                        ": when: undefined variable " + in_quotes(term.key.substr(5)) + "; play " +
                                        in_quotes(play.name) + " has no such var");
      }
    }
    return task.when->matches(when_keys_);
  }

  Result<std::string> render(const std::string& text, const Task& task, int line) const {
    // A block scalar's text starts on the line after its `|`.
    const int first_line = text.find('\n') != std::string::npos ? line + 1 : line;
    Result<std::string> rendered = render_template(text, variables_, {task.location.file, first_line});
    if (!rendered.is_ok()) {
      return Status::invalid_argument(rendered.status().message() + " (in task " + in_quotes(task.name) + ")");
    }
    return rendered;
  }

  Result<exec::Task> convert(const Task& task) const {
    exec::Task out;
    out.name = task.name;
    out.module = task.module;
    out.notify = task.notify;
    for (const auto& [name, arg] : task.args) {
      if (task.module == "tag") {
        const auto* tags = std::get_if<std::map<std::string, std::string>>(&arg.value);
        if (name != "tags" || tags == nullptr) return bad(task, arg.line, "tag takes `key: value` pairs");
        // Tags are set as written (not rendered): what a selector names must
        // be visible in the playbook.
        exec::StringList assignments;
        for (const auto& [key, value] : *tags) assignments.push_back(key + "=" + value);
        out.args.emplace("set", std::move(assignments));
        continue;
      }
      if (task.module == "template" && name == "src") continue;
      Result<exec::ArgValue> value = convert_arg(task, name, arg);
      if (!value.is_ok()) return value.status();
      out.args.emplace(name, std::move(*value));
    }
    if (task.module == "template") {
      Result<std::string> content = render_template_file(task);
      if (!content.is_ok()) return content.status();
      out.args.emplace("content", std::move(*content));
    }
    return out;
  }

  Status bad(const Task& task, int line, const std::string& message) const {
    return Status::invalid_argument(at(task.location.file, line > 0 ? line : task.location.line) + "task " +
                                    in_quotes(task.name) + ": " + message);
  }

  Result<exec::ArgValue> convert_arg(const Task& task, const std::string& name, const TaskArg& arg) const {
    const std::string what = task.module + " " + name;
    const ArgType type = arg_type(task.module, name);
    if (const auto* items = std::get_if<std::vector<std::string>>(&arg.value)) {
      if (type != ArgType::list) return bad(task, arg.line, what + " must be a single value, not a list");
      exec::StringList rendered;
      for (const std::string& item : *items) {
        Result<std::string> text = render(item, task, arg.line);
        if (!text.is_ok()) return text.status();
        rendered.push_back(std::move(*text));
      }
      return exec::ArgValue(std::move(rendered));
    }
    const auto* text = std::get_if<std::string>(&arg.value);
    if (text == nullptr) return bad(task, arg.line, what + " must be a string or a list of strings");
    Result<std::string> rendered = render(*text, task, arg.line);
    if (!rendered.is_ok()) return rendered.status();
    switch (type) {
      case ArgType::text: return exec::ArgValue(std::move(*rendered));
      case ArgType::list: return exec::ArgValue(exec::StringList{std::move(*rendered)});
      case ArgType::flag: {
        std::string word = *rendered;
        std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
        if (word == "true" || word == "yes") return exec::ArgValue(true);
        if (word == "false" || word == "no") return exec::ArgValue(false);
        return bad(task, arg.line, what + " must be true or false, got " + in_quotes(*rendered));
      }
      case ArgType::seconds: return seconds(task, arg.line, what, *rendered);
    }
    return bad(task, arg.line, what + " has an unknown type");
  }

  // The command module takes whole seconds; playbooks write a duration
  // ("30s", "2m") or a number of seconds. A fraction rounds up.
  Result<exec::ArgValue> seconds(const Task& task, int line, const std::string& what, const std::string& text) const {
    const std::string expected = what + " must be a duration like \"30s\" or \"2m\", or a number of seconds, got " +
                                 in_quotes(text);
    std::string duration = text;
    if (!duration.empty() && std::all_of(duration.begin(), duration.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (duration.size() > 9) return bad(task, line, expected);
      duration += "s";
    }
    Result<Nanoseconds> parsed = parse_go_duration(duration);
    if (!parsed.is_ok()) return bad(task, line, expected);
    const int64_t whole = std::chrono::ceil<std::chrono::seconds>(*parsed).count();
    if (whole <= 0) return bad(task, line, what + " must be longer than zero, got " + in_quotes(text));
    return exec::ArgValue(static_cast<int64_t>(whole));
  }

  Result<std::string> render_template_file(const Task& task) const {
    auto src = task.args.find("src");
    const std::string* name = src == task.args.end() ? nullptr : std::get_if<std::string>(&src->second.value);
    if (name == nullptr) return bad(task, task.location.line, "template needs \"src\"");
    const int line = src->second.line;
    const std::filesystem::path path(*name);
    bool escapes = path.is_absolute() || name->empty();
    for (const auto& part : path) escapes = escapes || part == "..";
    if (escapes) return bad(task, line, "template src " + in_quotes(*name) + " must be a path inside templates/");
    std::optional<std::string> text = templates_(*name);
    if (!text) return bad(task, line, "template " + in_quotes(*name) + " not found in templates/");
    Result<std::string> rendered = render_template(*text, variables_, {"templates/" + *name, 1});
    if (!rendered.is_ok()) {
      return Status::invalid_argument(rendered.status().message() + " (template of task " + in_quotes(task.name) +
                                      ", " + task.location.file + ":" + std::to_string(task.location.line) + ")");
    }
    return rendered;
  }

  const NodeView& node_;
  const TemplateSource& templates_;
  RenderVariables variables_;
  Tags when_keys_;
};

}  // namespace

Result<BuiltBundle> build_bundle(const std::vector<Playbook>& playbooks, const NodeView& node,
                                 const TemplateSource& templates) {
  return Builder(node, templates).build(playbooks);
}

}  // namespace roster::deploy
