#pragma once

// Renders Mustache text (templates, and task arguments) for one node, the
// way docs/PLAYBOOKS.md describes: the play's vars, node.name, node.address,
// node.tags.KEY and facts.*. The output goes into config files, not HTML, so
// nothing is escaped ({{x}} and {{{x}}} are the same).
//
// A reference to a variable this node does not define is an error naming the
// variable and its line, never an empty string: the text is scanned
// (scan_template) before it is rendered. node.tags.KEY is always defined
// (empty when the node lacks the tag); facts.* are defined only once the
// node's agent has reported its facts. Partials ({{> name}}) render nothing.
//
// Pure; kainjow-mustache stays in render.cc.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/playbook/playbook.h"

namespace roster::deploy {

struct RenderFacts {
  std::string hostname;
  std::string os_release;
  std::string cpus;
  std::string memory_mb;
};

struct RenderVariables {
  std::map<std::string, std::string> vars;  // the play's vars
  std::string node_name;
  std::string node_address;
  std::map<std::string, std::string> node_tags;
  std::optional<RenderFacts> facts;  // nullopt until the agent has reported them
};

// Part of the error for a template that reads a fact of a node whose agent has
// not reported its facts: roster-deploy then waits for them rather than
// calling the node failed.
inline constexpr std::string_view kFactsNotReported = "has not reported its facts yet";

// `origin` is where the text's first line was written (a playbook line, or
// line 1 of a template file). Errors are invalid_argument, "file:line: ..."
// at the line of the offending tag: an undefined variable, or a malformed
// template (an unclosed tag or section).
Result<std::string> render_template(const std::string& text, const RenderVariables& variables,
                                    const SourceLocation& origin);

}  // namespace roster::deploy
