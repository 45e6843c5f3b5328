#include "server/playbook/render.h"

#include <gtest/gtest.h>

namespace roster::deploy {
namespace {

RenderVariables web_node() {
  RenderVariables variables;
  variables.vars = {{"http_port", "8080"}, {"greeting", "<b>hi & bye</b>"}, {"dotted.name", "dot"}};
  variables.node_name = "web-1";
  variables.node_address = "10.0.0.5";
  variables.node_tags = {{"role", "web"}, {"env", "prod"}, {"app.kubernetes.io/name", "shop"}};
  variables.facts = RenderFacts{"web-1.example", "Debian GNU/Linux 12 (bookworm)", "4", "7936"};
  return variables;
}

std::string rendered(const std::string& text, const RenderVariables& variables = web_node()) {
  Result<std::string> out = render_template(text, variables, {"test.mustache", 1});
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? *out : "";
}

TEST(RenderTest, RendersVarsNodeTagsAndFacts) {
  EXPECT_EQ(rendered("listen {{ http_port }};"), "listen 8080;");
  EXPECT_EQ(rendered("{{node.name}} at {{ node.address }}, role {{ node.tags.role }}"),
            "web-1 at 10.0.0.5, role web");
  EXPECT_EQ(rendered("{{facts.hostname}} {{facts.os_release}} {{facts.cpus}} {{facts.memory_mb}}"),
            "web-1.example Debian GNU/Linux 12 (bookworm) 4 7936");
}

TEST(RenderTest, DoesNotEscapeHtml) {
  EXPECT_EQ(rendered("{{greeting}}|{{{greeting}}}|{{&greeting}}"), "<b>hi & bye</b>|<b>hi & bye</b>|<b>hi & bye</b>");
}

TEST(RenderTest, MissingTagIsEmptyAndItsSectionIsSkipped) {
  RenderVariables variables = web_node();
  variables.node_tags.erase("env");
  EXPECT_EQ(rendered("[{{ node.tags.env }}]", variables), "[]");
  const std::string text = "a\n{{#node.tags.env}}\nenv {{ node.tags.env }}\n{{/node.tags.env}}\nb\n";
  // kainjow leaves the line of a skipped standalone section tag blank (the
  // Mustache spec would drop it); harmless in a config file, pinned here so a
  // library change is noticed.
  EXPECT_EQ(rendered(text, variables), "a\n\nb\n");
  EXPECT_EQ(rendered(text), "a\nenv prod\nb\n");
}

TEST(RenderTest, SectionsResolveNamesRelativeToTheirValue) {
  EXPECT_EQ(rendered("{{#node}}{{name}} ({{address}}){{/node}}"), "web-1 (10.0.0.5)");
  EXPECT_EQ(rendered("{{#node.tags.role}}[{{.}}]{{/node.tags.role}}"), "[web]");
  EXPECT_EQ(rendered("{{^node.tags.absent}}none{{/node.tags.absent}}"), "none");
}

TEST(RenderTest, DottedTagKeysAndVarNamesAreFound) {
  EXPECT_EQ(rendered("{{ node.tags.app.kubernetes.io/name }} {{ dotted.name }}"), "shop dot");
}

TEST(RenderTest, CommentsAndDelimiterChanges) {
  EXPECT_EQ(rendered("{{! not output }}x{{=<% %>=}}<% http_port %> {{literal}}"), "x8080 {{literal}}");
}

TEST(RenderTest, UndefinedVariableIsAnErrorNamingItAndItsLine) {
  Result<std::string> out = render_template("line one\nport {{ htp_port }}\n", web_node(), {"site.mustache", 1});
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(out.status().message().find("site.mustache:2: undefined variable \"htp_port\""), std::string::npos)
      << out.status().message();
}

TEST(RenderTest, FactsOfANodeWithoutFactsAreUndefined) {
  RenderVariables variables = web_node();
  variables.facts.reset();
  Result<std::string> out = render_template("{{ facts.cpus }} CPUs", variables, {"web.yaml", 12});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("web.yaml:12: undefined variable \"facts.cpus\": node web-1 has not "
                                        "reported its facts"),
            std::string::npos)
      << out.status().message();
  EXPECT_FALSE(render_template("{{#facts}}{{cpus}}{{/facts}}", variables, {"t", 1}).is_ok());
  EXPECT_EQ(rendered("{{ node.name }}", variables), "web-1");
}

TEST(RenderTest, MalformedTemplateIsAnError) {
  EXPECT_FALSE(render_template("{{#node}}open", web_node(), {"t", 1}).is_ok());
  EXPECT_FALSE(render_template("{{ node.name", web_node(), {"t", 1}).is_ok());
  EXPECT_FALSE(render_template("{{/node}}", web_node(), {"t", 1}).is_ok());
}

TEST(RenderTest, PartialsRenderNothing) {
  EXPECT_EQ(rendered("[{{> greeting}}]"), "[]");
}

TEST(RenderTest, TextWithoutTagsIsUnchanged) {
  EXPECT_EQ(rendered("^#?Storage=\n"), "^#?Storage=\n");
  EXPECT_EQ(rendered(""), "");
}

}  // namespace
}  // namespace roster::deploy
