#include "server/playbook/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace roster::deploy {

std::string PlaybookError::to_string() const {
  if (file.empty()) return message;
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ": " + message;
}

namespace {

enum class ArgKind { string, list, string_or_list };

struct ArgSpec {
  std::string_view name;
  ArgKind kind = ArgKind::string;
  bool required = false;
  std::vector<std::string_view> choices = {};  // empty: any value
};

struct ModuleSpec {
  std::string_view name;
  std::vector<ArgSpec> args;  // empty for `tag`, whose keys are tag names
};

const std::vector<ModuleSpec>& module_specs() {
  static const std::vector<ModuleSpec> specs = {
      {"file",
       {{"path", ArgKind::string, true},
        {"state", ArgKind::string, false, {"file", "directory", "absent", "link"}},
        {"src"}, {"mode"}, {"owner"}}},
      {"copy", {{"dest", ArgKind::string, true}, {"content", ArgKind::string, true}, {"mode"}, {"owner"}}},
      {"template", {{"src", ArgKind::string, true}, {"dest", ArgKind::string, true}, {"mode"}, {"owner"}}},
      {"lineinfile",
       {{"path", ArgKind::string, true},
        {"line"},
        {"regexp"},
        {"state", ArgKind::string, false, {"present", "absent"}},
        {"create", ArgKind::string, false, {"true", "false", "yes", "no"}}}},
      {"command",
       {{"argv", ArgKind::list, true}, {"creates"}, {"removes"}, {"unless", ArgKind::list}, {"timeout"}}},
      {"package",
       {{"name", ArgKind::string_or_list, true}, {"state", ArgKind::string, false, {"present", "absent"}}}},
      {"service",
       {{"name", ArgKind::string, true},
        {"state", ArgKind::string, false, {"started", "stopped", "restarted", "reloaded"}},
        {"enabled", ArgKind::string, false, {"true", "false", "yes", "no"}}}},
      {"tag", {}},
  };
  return specs;
}

const ModuleSpec* find_module(const std::string& name) {
  for (const ModuleSpec& spec : module_specs())
    if (spec.name == name) return &spec;
  return nullptr;
}

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view word : words) out += (out.empty() ? "" : ", ") + std::string(word);
  return out;
}

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

const char* type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Undefined: break;
  }
  return "an undefined value";
}

const std::vector<std::string_view> kPlayKeys = {"name", "hosts", "vars", "tasks", "handlers", "serial",
                                                 "max_fail_percentage"};
const std::vector<std::string_view> kTaskKeys = {"name", "when", "notify"};

class Parser {
 public:
  Parser(std::string file, std::vector<PlaybookError>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, std::string message) { error_at(line_of(at), std::move(message)); }
  void error_at(int line, std::string message) { errors_.push_back({file_, line, std::move(message)}); }

  std::vector<Playbook> document(const YAML::Node& root) {
    std::vector<Playbook> plays;
    if (root.IsMap()) {
      if (auto play = parse_play(root)) plays.push_back(std::move(*play));
    } else if (root.IsSequence()) {
      for (const YAML::Node& item : root)
        if (auto play = parse_play(item)) plays.push_back(std::move(*play));
    } else if (!root.IsNull()) {
      error(root, "a playbook file must be a list of plays or one play (a map), got " +
                      std::string(type_name(root)));
    }
    return plays;
  }

 private:
  std::optional<std::string> scalar(const YAML::Node& value, std::string_view what) {
    if (!value.IsScalar()) {
      error(value, std::string(what) + " must be a string, got " + type_name(value));
      return std::nullopt;
    }
    return value.Scalar();
  }

  // A selector's text. An unquoted `!maintenance` is a YAML type tag, not a
  // string; say so instead of reporting an empty selector.
  std::optional<Selector> selector(const YAML::Node& value, std::string_view what) {
    const std::string& tag = value.Tag();
    if (tag.size() > 1 && tag.front() == '!') {
      error(value, std::string(what) + ": YAML reads " + tag + " as a type tag; quote the selector: " +
                       std::string(what) + ": \"" + tag + (value.IsScalar() ? value.Scalar() : "") + "\"");
      return std::nullopt;
    }
    auto text = scalar(value, what);
    if (!text) return std::nullopt;
    Result<Selector> parsed = Selector::parse(*text);
    if (!parsed.is_ok()) {
      error(value, std::string(what) + ": " + parsed.status().message());
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  std::optional<int> whole_number(const std::string& text, int minimum, int maximum) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (value < minimum || value > maximum) return std::nullopt;
    return value;
  }

  std::optional<Playbook> parse_play(const YAML::Node& node) {
    if (!node.IsMap()) {
      error(node, "a play must be a map with name, hosts and tasks, got " + std::string(type_name(node)));
      return std::nullopt;
    }
    Playbook play;
    play.location = {file_, line_of(node)};
    bool has_hosts = false;
    std::set<std::string> seen;
    for (const auto& pair : node) {
      const std::string key = pair.first.IsScalar() ? pair.first.Scalar() : "";
      const YAML::Node& value = pair.second;
      if (std::find(kPlayKeys.begin(), kPlayKeys.end(), key) == kPlayKeys.end()) {
        error(pair.first, "unknown field \"" + key + "\" in a play; known fields: " + join(kPlayKeys));
        continue;
      }
      if (!seen.insert(key).second) {
        error(pair.first, "field \"" + key + "\" is given more than once");
        continue;
      }
      if (key == "name") {
        if (auto text = scalar(value, "name")) play.name = *text;
      } else if (key == "hosts") {
        play.hosts_line = line_of(value);
        if (auto hosts = selector(value, "hosts")) {
          play.hosts = std::move(*hosts);
          has_hosts = true;
        }
      } else if (key == "vars") {
        parse_vars(value, play);
      } else if (key == "tasks") {
        play.tasks = parse_tasks(value, "tasks", /*handlers=*/false);
      } else if (key == "handlers") {
        play.handlers = parse_tasks(value, "handlers", /*handlers=*/true);
      } else if (key == "serial") {
        parse_serial(value, play);
      } else if (key == "max_fail_percentage") {
        auto text = scalar(value, "max_fail_percentage");
        auto number = text ? whole_number(*text, 0, 100) : std::nullopt;
        if (number) play.max_fail_percentage = *number;
        else if (text) error(value, "max_fail_percentage must be a whole number from 0 to 100, got \"" + *text + "\"");
      }
    }
    if (!seen.count("name")) error(node, "the play has no name");
    if (!seen.count("hosts")) error(node, "play \"" + play.name + "\" has no hosts selector");
    play.hosts_valid = has_hosts;
    check_notify(play);
    return play;
  }

  void parse_vars(const YAML::Node& value, Playbook& play) {
    if (!value.IsMap()) {
      error(value, "vars must be a map of names to values, got " + std::string(type_name(value)));
      return;
    }
    for (const auto& pair : value) {
      if (!pair.first.IsScalar()) {
        error(pair.first, "variable names must be plain strings");
        continue;
      }
      const std::string name = pair.first.Scalar();
      if (name == "node" || name == "facts") {
        error(pair.first, "variable \"" + name + "\" hides the built-in " + name + ".* variables; rename it");
        continue;
      }
      if (!pair.second.IsScalar()) {
        error(pair.second, "variable \"" + name + "\" must be a scalar (string, number or boolean), got " +
                               type_name(pair.second));
        continue;
      }
      play.vars[name] = pair.second.Scalar();
      play.var_lines[name] = line_of(pair.first);
    }
  }

  void parse_serial(const YAML::Node& value, Playbook& play) {
    auto text = scalar(value, "serial");
    if (!text) return;
    std::string digits = *text;
    const bool percent = !digits.empty() && digits.back() == '%';
    if (percent) digits.pop_back();
    auto number = whole_number(digits, percent ? 1 : 0, percent ? 100 : 1'000'000);
    if (!number) {
      error(value, "serial must be a count (like 2) or a percentage from 1% to 100% (like \"30%\"), got \"" + *text +
                       "\"");
      return;
    }
    play.serial = {percent, *number};
  }

  std::vector<Task> parse_tasks(const YAML::Node& value, std::string_view what, bool handlers) {
    std::vector<Task> tasks;
    if (!value.IsSequence()) {
      error(value, std::string(what) + " must be a list, got " + type_name(value));
      return tasks;
    }
    for (const YAML::Node& item : value)
      if (auto task = parse_task(item, handlers)) tasks.push_back(std::move(*task));
    return tasks;
  }

  std::optional<Task> parse_task(const YAML::Node& node, bool handler) {
    const std::string_view what = handler ? "handler" : "task";
    if (!node.IsMap()) {
      error(node, std::string(what) + " must be a map with a name and one module, got " + type_name(node));
      return std::nullopt;
    }
    Task task;
    task.location = {file_, line_of(node)};
    std::set<std::string> seen;
    std::vector<std::pair<YAML::Node, YAML::Node>> modules;
    bool unknown_key = false;
    for (const auto& pair : node) {
      const std::string key = pair.first.IsScalar() ? pair.first.Scalar() : "";
      if (!seen.insert(key).second) {
        error(pair.first, "field \"" + key + "\" is given more than once");
        continue;
      }
      if (key == "name") {
        if (auto text = scalar(pair.second, "name")) task.name = *text;
      } else if (key == "when") {
        task.when_line = line_of(pair.second);
        task.when = selector(pair.second, "when");
      } else if (key == "notify") {
        task.notify_line = line_of(pair.second);
        if (pair.second.IsScalar()) {
          task.notify.push_back(pair.second.Scalar());
        } else if (pair.second.IsSequence()) {
          for (const YAML::Node& item : pair.second)
            if (auto text = scalar(item, "notify")) task.notify.push_back(*text);
        } else {
          error(pair.second, "notify must name a handler or list handlers, got " + std::string(type_name(pair.second)));
        }
      } else if (find_module(key) != nullptr) {
        modules.emplace_back(pair.first, pair.second);
      } else {
        unknown_key = true;
        std::vector<std::string_view> known(kTaskKeys);
        for (const ModuleSpec& spec : module_specs()) known.push_back(spec.name);
        error(pair.first, "unknown module or field \"" + key + "\" in " + std::string(what) +
                              " \"" + task.name + "\"; known: " + join(known));
      }
    }
    if (task.name.empty()) error(node, std::string(what) + " has no name");
    if (handler && !task.notify.empty()) error_at(task.notify_line, "a handler cannot notify other handlers");
    if (modules.empty()) {
      if (unknown_key) return std::nullopt;  // the unknown key was most likely meant as the module
      error(node, std::string(what) + " \"" + task.name + "\" has no module; use one of: " + module_list());
      return std::nullopt;
    }
    if (modules.size() > 1) {
      error(modules[1].first, std::string(what) + " \"" + task.name + "\" has more than one module (" +
                                  modules[0].first.Scalar() + " and " + modules[1].first.Scalar() +
                                  "); split it into two tasks");
      return std::nullopt;
    }
    task.module = modules[0].first.Scalar();
    if (!parse_args(*find_module(task.module), modules[0].second, task)) return std::nullopt;
    return task;
  }

  static std::string module_list() {
    std::vector<std::string_view> names;
    for (const ModuleSpec& spec : module_specs()) names.push_back(spec.name);
    return join(names);
  }

  bool parse_args(const ModuleSpec& spec, const YAML::Node& value, Task& task) {
    const std::string module(spec.name);
    if (!value.IsMap()) {
      error(value, "module " + module + " takes a map of arguments, got " + type_name(value));
      return false;
    }
    if (module == "tag") {
      std::map<std::string, std::string> tags;
      for (const auto& pair : value) {
        if (!pair.first.IsScalar() || !pair.second.IsScalar() || pair.second.Scalar().empty()) {
          error(pair.first, "tag sets tags as `key: value` pairs of non-empty strings");
          return false;
        }
        const std::string& key = pair.first.Scalar();
        const std::string& tag_value = pair.second.Scalar();
        if (!is_selectable_key(key)) {
          error(pair.first, "tag key \"" + key + "\" must be 1-128 letters, digits, '_', '-', '.' or '/'");
          return false;
        }
        if (tag_value.size() > 512 || std::any_of(tag_value.begin(), tag_value.end(), [](char c) {
              return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
            })) {
          error(pair.second, "tag value for \"" + key +
                                 "\" must be at most 512 characters, none of them control characters");
          return false;
        }
        tags[key] = tag_value;
      }
      if (tags.empty()) {
        error(value, "tag sets no tags; write `tag: {stage: base-done}`");
        return false;
      }
      task.args["tags"] = {std::move(tags), line_of(value)};
      return true;
    }
    bool ok = true;
    for (const auto& pair : value) {
      const std::string name = pair.first.IsScalar() ? pair.first.Scalar() : "";
      auto arg = std::find_if(spec.args.begin(), spec.args.end(), [&](const ArgSpec& a) { return a.name == name; });
      if (arg == spec.args.end()) {
        std::vector<std::string_view> known;
        for (const ArgSpec& a : spec.args) known.push_back(a.name);
        error(pair.first, "unknown field \"" + name + "\" for module " + module + "; known fields: " + join(known));
        ok = false;
        continue;
      }
      const YAML::Node& arg_value = pair.second;
      const bool list_allowed = arg->kind != ArgKind::string;
      const bool string_allowed = arg->kind != ArgKind::list;
      if (arg_value.IsScalar() && string_allowed) {
        const std::string text = arg_value.Scalar();
        if (!arg->choices.empty() && std::find(arg->choices.begin(), arg->choices.end(), text) == arg->choices.end()) {
          error(arg_value, module + " " + name + " must be one of " + join(arg->choices) + ", got \"" + text + "\"");
          ok = false;
          continue;
        }
        task.args[name] = {text, line_of(arg_value)};
      } else if (arg_value.IsSequence() && list_allowed) {
        std::vector<std::string> items;
        for (const YAML::Node& item : arg_value) {
          if (!item.IsScalar()) {
            error(item, module + " " + name + " must list strings, got " + type_name(item));
            ok = false;
            continue;
          }
          items.push_back(item.Scalar());
        }
        if (items.empty()) {
          error(arg_value, module + " " + name + " must not be empty");
          ok = false;
          continue;
        }
        task.args[name] = {std::move(items), line_of(arg_value)};
      } else {
        error(arg_value, module + " " + name + " must be " +
                             (list_allowed ? (string_allowed ? "a string or a list of strings" : "a list of strings")
                                           : "a string") +
                             ", got " + type_name(arg_value));
        ok = false;
      }
    }
    for (const ArgSpec& arg : spec.args) {
      if (arg.required && !task.args.count(std::string(arg.name))) {
        error(value, "module " + module + " needs \"" + std::string(arg.name) + "\"");
        ok = false;
      }
    }
    if (module == "file") {
      auto state = task.args.find("state");
      const bool link = state != task.args.end() && std::get<std::string>(state->second.value) == "link";
      if (link != (task.args.count("src") > 0)) {
        error(value, link ? "file with state link needs \"src\", the link's target"
                          : "file takes \"src\" only with state: link");
        ok = false;
      }
    }
    if (module == "lineinfile") {
      auto state = task.args.find("state");
      const bool absent = state != task.args.end() && std::get<std::string>(state->second.value) == "absent";
      if (!absent && !task.args.count("line")) {
        error(value, "lineinfile needs \"line\" unless state is absent");
        ok = false;
      }
      if (absent && !task.args.count("line") && !task.args.count("regexp")) {
        error(value, "lineinfile with state absent needs \"line\" or \"regexp\"");
        ok = false;
      }
    }
    return ok;
  }

  void check_notify(const Playbook& play) {
    std::set<std::string> handler_names;
    for (const Task& handler : play.handlers) {
      if (!handler_names.insert(handler.name).second)
        error_at(handler.location.line, "two handlers are named \"" + handler.name + "\"");
    }
    for (const Task& task : play.tasks)
      for (const std::string& name : task.notify)
        if (!handler_names.count(name))
          error_at(task.notify_line, "task \"" + task.name + "\" notifies \"" + name +
                                         "\", which is not a handler of play \"" + play.name + "\"");
  }

  std::string file_;
  std::vector<PlaybookError>& errors_;
};

}  // namespace

const std::vector<std::string>& known_modules() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const ModuleSpec& spec : module_specs()) out.emplace_back(spec.name);
    return out;
  }();
  return names;
}

std::vector<ManagedPath> managed_paths(const Task& task) {
  const char* key = nullptr;
  if (task.module == "file" || task.module == "lineinfile") key = "path";
  if (task.module == "copy" || task.module == "template") key = "dest";
  if (key == nullptr) return {};
  auto found = task.args.find(key);
  if (found == task.args.end()) return {};
  const std::string* path = std::get_if<std::string>(&found->second.value);
  if (path == nullptr) return {};
  return {{*path, task.module != "lineinfile"}};
}

namespace {

class IgnoreEvents final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

constexpr int kMaxDocuments = 1000;

// yaml-cpp 0.7 never reaches the end of some malformed streams (found by
// playbook_loader_fuzz: a line starting with ','): YAML::LoadAll then adds
// empty documents until memory runs out. Count the documents first, without
// building nodes, and give up past a bound. Throws YAML::Exception as LoadAll.
bool document_count_is_bounded(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser counter(stream);
  IgnoreEvents ignore;
  for (int documents = 0; counter.HandleNextDocument(ignore);) {
    if (++documents > kMaxDocuments) return false;
  }
  return true;
}

}  // namespace

std::vector<Playbook> parse_playbook_text(const std::string& text, const std::string& file,
                                          std::vector<PlaybookError>& errors) {
  Parser parser(file, errors);
  std::vector<YAML::Node> documents;
  try {
    if (!document_count_is_bounded(text)) {
      errors.push_back({file, 0, "YAML syntax error: the parser does not reach the end of the file (more than " +
                                     std::to_string(kMaxDocuments) +
                                     " documents); look for a line that starts with a stray character such as ','"});
      return {};
    }
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    errors.push_back({file, e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg});
    return {};
  }
  std::vector<Playbook> plays;
  try {
    for (const YAML::Node& document : documents) {
      std::vector<Playbook> more = parser.document(document);
      std::move(more.begin(), more.end(), std::back_inserter(plays));
    }
  } catch (const YAML::Exception& e) {
    errors.push_back({file, e.mark.is_null() ? 0 : e.mark.line + 1, e.msg});
  }
  return plays;
}

PlaybookSet load_playbook_directory(const std::string& directory, std::vector<PlaybookError>& errors) {
  namespace fs = std::filesystem;
  PlaybookSet set;
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    errors.push_back({directory, 0, "not a directory"});
    return set;
  }
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    if (!it->is_regular_file(error)) continue;
    if (path.extension() == ".yaml" || path.extension() == ".yml") set.files.push_back(path.string());
  }
  if (error) errors.push_back({directory, 0, "cannot list the directory: " + error.message()});
  std::sort(set.files.begin(), set.files.end());
  if (set.files.empty()) errors.push_back({directory, 0, "no playbooks (*.yaml, *.yml) in the directory"});
  for (const std::string& file : set.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      errors.push_back({file, 0, "cannot read the file"});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::vector<Playbook> plays = parse_playbook_text(text.str(), file, errors);
    std::move(plays.begin(), plays.end(), std::back_inserter(set.playbooks));
  }
  return set;
}

}  // namespace roster::deploy
