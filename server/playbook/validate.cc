#include "server/playbook/validate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "server/playbook/template_vars.h"

namespace roster::deploy {
namespace {

const std::set<std::string> kBuiltinVariables = {
    "node", "node.name", "node.address", "node.tags",
    "facts", "facts.hostname", "facts.os_release", "facts.cpus", "facts.memory_mb",
};

std::string variable_help() {
  return "known: the play's vars, node.name, node.address, node.tags.KEY, facts.hostname, facts.os_release, "
         "facts.cpus, facts.memory_mb";
}

// Mustache looks a name up in each enclosing section's context, innermost
// first, then at the root.
bool reference_is_known(const TemplateReference& reference, const std::map<std::string, std::string>& vars) {
  if (reference.name == "." && !reference.sections.empty()) return true;
  for (size_t depth = reference.sections.size(); depth > 0; --depth) {
    std::string prefix;
    for (size_t i = 0; i < depth; ++i) prefix += (i ? "." : "") + reference.sections[i];
    if (is_known_variable(prefix + "." + reference.name, vars)) return true;
    if (is_known_variable(reference.sections[depth - 1] + "." + reference.name, vars)) return true;
  }
  return is_known_variable(reference.name, vars);
}

void check_text(const std::string& text, int line, const std::string& file, const std::string& what,
                const Playbook& play, std::vector<PlaybookError>& errors) {
  TemplateScan scan = scan_template(text, line);
  for (const auto& [error_line, message] : scan.errors)
    errors.push_back({file, error_line, what + ": " + message});
  for (const TemplateReference& reference : scan.references) {
    if (!reference_is_known(reference, play.vars))
      errors.push_back({file, reference.line, what + ": undefined variable \"" + reference.name + "\" (" +
                                                  variable_help() + ")"});
  }
}

void check_task(const Playbook& play, const Task& task, const TemplateReader& read_template,
                std::vector<PlaybookError>& errors) {
  const std::string& file = task.location.file;
  const std::string what = "task \"" + task.name + "\"";
  for (const auto& [name, arg] : task.args) {
    if (const auto* text = std::get_if<std::string>(&arg.value)) {
      // A block scalar's text starts on the line after its `|`.
      const int first_line = text->find('\n') != std::string::npos ? arg.line + 1 : arg.line;
      check_text(*text, first_line, file, what, play, errors);
    } else if (const auto* items = std::get_if<std::vector<std::string>>(&arg.value)) {
      for (const std::string& item : *items) check_text(item, arg.line, file, what, play, errors);
    }
  }
  if (task.when) {
    for (const SelectorTerm& term : task.when->terms()) {
      if (term.key.rfind("vars.", 0) == 0 && !play.vars.count(term.key.substr(5)))
        errors.push_back({file, task.when_line, what + ": when: undefined variable \"" + term.key.substr(5) +
                                                    "\"; play \"" + play.name + "\" has no such var"});
    }
  }
  if (task.module == "template") {
    auto src = task.args.find("src");
    if (src == task.args.end()) return;
    const std::string& name = std::get<std::string>(src->second.value);
    const std::filesystem::path path(name);
    bool escapes = path.is_absolute();
    for (const auto& part : path) escapes = escapes || part == "..";
    if (escapes) {
      errors.push_back({file, src->second.line, what + ": template src \"" + name +
                                                    "\" must be a path inside the templates/ folder"});
      return;
    }
    std::optional<TemplateFile> found = read_template(name);
    if (!found) {
      errors.push_back({file, src->second.line, what + ": template \"" + name + "\" not found in templates/"});
      return;
    }
    check_text(found->text, 1, found->path, "template used by " + what + " (" + file + ":" +
                                               std::to_string(task.location.line) + ")",
               play, errors);
  }
}

struct PathUse {
  const Playbook* play;
  const Task* task;
  bool whole_file;
};

void check_paths(const std::vector<Playbook>& playbooks, std::vector<PlaybookError>& errors) {
  std::map<std::string, std::vector<PathUse>> uses;
  for (const Playbook& play : playbooks) {
    if (!play.hosts_valid) continue;
    for (const auto* list : {&play.tasks, &play.handlers})
      for (const Task& task : *list)
        for (const ManagedPath& managed : managed_paths(task)) {
          std::string path = std::filesystem::path(managed.path).lexically_normal().string();
          if (path.size() > 1 && path.back() == '/') path.pop_back();
          uses[path].push_back({&play, &task, managed.whole_file});
        }
  }
  for (const auto& [path, list] : uses) {
    for (size_t later = 1; later < list.size(); ++later) {
      for (size_t earlier = 0; earlier < later; ++earlier) {
        const PathUse& a = list[earlier];
        const PathUse& b = list[later];
        if (!a.whole_file && !b.whole_file) continue;
        if (!selectors_can_overlap(a.play->hosts, b.play->hosts)) continue;
        const std::string where =
            a.play == b.play ? "in the same play"
                             : "in play \"" + a.play->name + "\"; a node can match both hosts \"" +
                                   a.play->hosts.text() + "\" and \"" + b.play->hosts.text() + "\"";
        errors.push_back({b.task->location.file, b.task->location.line,
                          "task \"" + b.task->name + "\" (" + b.task->module + ") manages " + path +
                              ", which task \"" + a.task->name + "\" (" + a.task->module + ", " +
                              a.task->location.file + ":" + std::to_string(a.task->location.line) +
                              ") also manages " + where + "; the two would undo each other on every run"});
        break;  // one report per later task is enough to find the pair
      }
    }
  }
}

}  // namespace

bool is_known_variable(const std::string& name, const std::map<std::string, std::string>& vars) {
  if (vars.count(name) || kBuiltinVariables.count(name)) return true;
  const std::string tags_prefix = "node.tags.";
  return name.size() > tags_prefix.size() && name.compare(0, tags_prefix.size(), tags_prefix) == 0;
}

void check_playbooks(const std::vector<Playbook>& playbooks, const TemplateReader& read_template,
                     std::vector<PlaybookError>& errors) {
  std::map<std::string, const Playbook*> names;
  for (const Playbook& play : playbooks) {
    if (!play.name.empty()) {
      auto [it, inserted] = names.emplace(play.name, &play);
      if (!inserted)
        errors.push_back({play.location.file, play.location.line,
                          "two plays are named \"" + play.name + "\" (the other is at " + it->second->location.file +
                              ":" + std::to_string(it->second->location.line) + ")"});
    }
    for (const auto* list : {&play.tasks, &play.handlers})
      for (const Task& task : *list) check_task(play, task, read_template, errors);
  }
  check_paths(playbooks, errors);
}

std::vector<PlaybookError> validate_playbook_directory(const std::string& directory) {
  std::vector<PlaybookError> errors;
  PlaybookSet set = load_playbook_directory(directory, errors);
  const std::filesystem::path templates = std::filesystem::path(directory) / "templates";
  TemplateReader reader = [&](const std::string& src) -> std::optional<TemplateFile> {
    const std::filesystem::path path = templates / src;
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return TemplateFile{path.string(), text.str()};
  };
  check_playbooks(set.playbooks, reader, errors);
  std::stable_sort(errors.begin(), errors.end(), [](const PlaybookError& a, const PlaybookError& b) {
    return std::tie(a.file, a.line) < std::tie(b.file, b.line);
  });
  return errors;
}

}  // namespace roster::deploy
