// libFuzzer target for playbooks (server/playbook/loader.h and validate.h):
// YAML that an operator, or whoever can edit the playbook directory, writes.
// The properties: nothing crashes, hangs or trips a sanitizer, yaml-cpp's
// exceptions never escape, and every error names the file. The template is
// also rendered (render_template, kainjow-mustache) for a fixed node.
//
// Input layout: the playbook file's text; if it contains the line
// "#--- template", what follows is the text of templates/t.mustache, which a
// `template: {src: t.mustache}` task reads.
//
// Seeds are in tests/fuzz/playbook_corpus/; bench/fuzz.sh 300
// playbook_loader_fuzz builds and runs it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "server/playbook/loader.h"
#include "server/playbook/render.h"
#include "server/playbook/validate.h"

namespace deploy = roster::deploy;

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

const std::string kTemplateMarker = "#--- template\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> templates = {{"fixed.mustache", "{{ node.name }} {{#node}}{{address}}{{/node}}\n"}};
  const size_t marker = text.find(kTemplateMarker);
  if (marker != std::string::npos) {
    templates["t.mustache"] = text.substr(marker + kTemplateMarker.size());
    text.resize(marker);
  }

  std::vector<deploy::PlaybookError> errors;
  std::vector<deploy::Playbook> playbooks = deploy::parse_playbook_text(text, "fuzz.yaml", errors);
  deploy::TemplateReader reader = [&](const std::string& src) -> std::optional<deploy::TemplateFile> {
    auto found = templates.find(src);
    if (found == templates.end()) return std::nullopt;
    return deploy::TemplateFile{"templates/" + src, found->second};
  };
  deploy::check_playbooks(playbooks, reader, errors);
  for (const deploy::PlaybookError& error : errors) {
    check(!error.file.empty());
    check(!error.message.empty());
    check(error.line >= 0);
  }
  auto custom = templates.find("t.mustache");
  if (custom != templates.end()) {
    deploy::RenderVariables variables;
    variables.vars = {{"port", "80"}};
    variables.node_name = "web-1";
    variables.node_address = "10.0.0.5";
    variables.node_tags = {{"role", "web"}, {"app.kubernetes.io/name", "shop"}};
    variables.facts = deploy::RenderFacts{"web-1", "Debian", "2", "4096"};
    roster::Result<std::string> rendered = deploy::render_template(custom->second, variables, {"templates/t.mustache", 1});
    if (!rendered.is_ok()) check(rendered.status().code() == roster::StatusCode::invalid_argument);
  }
  return 0;
}
