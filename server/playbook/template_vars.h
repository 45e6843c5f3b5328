#pragma once

// Finds the variables a Mustache template refers to, without rendering it, so
// that `roster-deploy validate` can name an undefined one with its line.
// Understands variables ({{x}}, {{{x}}}, {{&x}}), sections ({{#x}}..{{/x}},
// {{^x}}..{{/x}}), comments, partials and delimiter changes ({{=<% %>=}}).

#include <string>
#include <vector>

namespace roster::deploy {

struct TemplateReference {
  std::string name;                   // trimmed, e.g. "node.tags.role"
  std::vector<std::string> sections;  // enclosing section names, outermost first
  int line = 0;                       // 1-based, within the scanned text
};

struct TemplateScan {
  std::vector<TemplateReference> references;
  std::vector<std::pair<int, std::string>> errors;  // line, message
};

// `first_line` is the line of the text's first character (for text that sits
// inside a playbook file).
TemplateScan scan_template(const std::string& text, int first_line = 1);

}  // namespace roster::deploy
