#include "server/playbook/render.h"

#include <kainjow/mustache.hpp>

#include <set>
#include <vector>

#include "server/playbook/template_vars.h"

namespace roster::deploy {
namespace {

using Data = kainjow::mustache::data;

std::string where(const SourceLocation& origin, int line) {
  return origin.file + ":" + std::to_string(line) + ": ";
}

bool is_defined(const std::string& name, const RenderVariables& variables) {
  static const std::set<std::string> kNode = {"node", "node.name", "node.address", "node.tags"};
  static const std::set<std::string> kFacts = {"facts", "facts.hostname", "facts.os_release", "facts.cpus",
                                               "facts.memory_mb"};
  if (variables.vars.count(name) || kNode.count(name)) return true;
  const std::string tags_prefix = "node.tags.";
  if (name.size() > tags_prefix.size() && name.compare(0, tags_prefix.size(), tags_prefix) == 0) return true;
  return variables.facts.has_value() && kFacts.count(name);
}

// The lookup validate.cc applies: a name inside sections may be relative to
// any enclosing section, innermost first, or to the root.
bool reference_is_defined(const TemplateReference& reference, const RenderVariables& variables) {
  if (reference.name == "." && !reference.sections.empty()) return true;
  for (size_t depth = reference.sections.size(); depth > 0; --depth) {
    std::string prefix;
    for (size_t i = 0; i < depth; ++i) prefix += (i ? "." : "") + reference.sections[i];
    if (is_defined(prefix + "." + reference.name, variables)) return true;
    if (is_defined(reference.sections[depth - 1] + "." + reference.name, variables)) return true;
  }
  return is_defined(reference.name, variables);
}

std::string undefined_message(const std::string& name, const RenderVariables& variables) {
  if (!variables.facts && (name == "facts" || name.rfind("facts.", 0) == 0)) {
    return "undefined variable \"" + name + "\": node " + variables.node_name +
           " " + std::string(kFactsNotReported) + " (its agent writes them when it starts)";
  }
  return "undefined variable \"" + name +
         "\" (known: the play's vars, node.name, node.address, node.tags.KEY, facts.hostname, "
         "facts.os_release, facts.cpus, facts.memory_mb)";
}

// kainjow's own context splits every dotted name at each '.', so a tag key
// or var with a dot in it ("node.tags.app.kubernetes.io/name") would never be
// found. This one looks whole names up at the root first. Partials are not
// supported: they find nothing, rather than rendering a var's value as a
// template.
class NodeContext final : public kainjow::mustache::basic_context<std::string> {
 public:
  NodeContext(const Data* root, const std::map<std::string, Data>* whole_names)
      : root_(root), whole_names_(whole_names) {
    items_.push_back(root);
  }

  void push(const Data* data) override { items_.insert(items_.begin(), data); }
  void pop() override { items_.erase(items_.begin()); }

  const Data* get(const std::string& name) const override {
    if (name == ".") return items_.front();
    for (const Data* item : items_) {
      if (item == root_) {
        auto whole = whole_names_->find(name);
        if (whole != whole_names_->end()) return &whole->second;
      }
      const Data* found = item;
      size_t start = 0;
      while (found != nullptr && start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        found = found->get(name.substr(start, dot - start));
        start = dot + 1;
      }
      if (found != nullptr) return found;
    }
    return nullptr;
  }

  const Data* get_partial(const std::string&) const override { return nullptr; }

 private:
  const Data* root_;
  const std::map<std::string, Data>* whole_names_;
  std::vector<const Data*> items_;
};

}  // namespace

Result<std::string> render_template(const std::string& text, const RenderVariables& variables,
                                    const SourceLocation& origin) {
  const int first_line = origin.line > 0 ? origin.line : 1;
  TemplateScan scan = scan_template(text, first_line);
  if (!scan.errors.empty()) {
    return Status::invalid_argument(where(origin, scan.errors.front().first) + scan.errors.front().second);
  }
  for (const TemplateReference& reference : scan.references) {
    if (!reference_is_defined(reference, variables)) {
      return Status::invalid_argument(where(origin, reference.line) + undefined_message(reference.name, variables));
    }
  }

  Data tags(Data::type::object);
  std::map<std::string, Data> whole_names;
  for (const auto& [key, value] : variables.node_tags) {
    tags.set(key, Data(value));
    whole_names.emplace("node.tags." + key, Data(value));
  }
  Data node(Data::type::object);
  node.set("name", Data(variables.node_name));
  node.set("address", Data(variables.node_address));
  node.set("tags", tags);
  Data root(Data::type::object);
  for (const auto& [name, value] : variables.vars) {
    root.set(name, Data(value));
    whole_names.emplace(name, Data(value));
  }
  root.set("node", node);
  if (variables.facts) {
    Data facts(Data::type::object);
    facts.set("hostname", Data(variables.facts->hostname));
    facts.set("os_release", Data(variables.facts->os_release));
    facts.set("cpus", Data(variables.facts->cpus));
    facts.set("memory_mb", Data(variables.facts->memory_mb));
    root.set("facts", facts);
  }

  kainjow::mustache::mustache renderer(text);
  if (!renderer.is_valid()) return Status::invalid_argument(where(origin, first_line) + renderer.error_message());
  renderer.set_custom_escape([](const std::string& value) { return value; });
  NodeContext context(&root, &whole_names);
  std::string rendered = renderer.render(context);
  if (!renderer.is_valid()) return Status::invalid_argument(where(origin, first_line) + renderer.error_message());
  return rendered;
}

}  // namespace roster::deploy
