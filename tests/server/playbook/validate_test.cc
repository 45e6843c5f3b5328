#include "server/playbook/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace roster::deploy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ValidateTest : public ::testing::Test {
 protected:
  void add_file(const std::string& name, const std::string& text) {
    std::vector<Playbook> more = parse_playbook_text(text, name, errors_);
    std::move(more.begin(), more.end(), std::back_inserter(playbooks_));
  }

  std::string check() {
    EXPECT_TRUE(errors_.empty()) << "the test's playbooks should load cleanly";
    TemplateReader reader = [this](const std::string& src) -> std::optional<TemplateFile> {
      auto found = templates_.find(src);
      if (found == templates_.end()) return std::nullopt;
      return TemplateFile{"templates/" + src, found->second};
    };
    check_playbooks(playbooks_, reader, errors_);
    std::string out;
    for (const PlaybookError& error : errors_) out += error.to_string() + "\n";
    return out;
  }

  std::vector<Playbook> playbooks_;
  std::vector<PlaybookError> errors_;
  std::map<std::string, std::string> templates_;
};

TEST_F(ValidateTest, KnownVariables) {
  const std::map<std::string, std::string> vars = {{"port", "80"}};
  for (const char* name : {"port", "node.name", "node.address", "node.tags.role", "node.tags.a.b", "facts.hostname",
                           "facts.os_release", "facts.cpus", "facts.memory_mb", "node.tags"})
    EXPECT_TRUE(is_known_variable(name, vars)) << name;
  for (const char* name : {"nope", "node.hostname", "facts.disk", "node.tags.", "Port", "vars.port"})
    EXPECT_FALSE(is_known_variable(name, vars)) << name;
}

TEST_F(ValidateTest, AValidPlayHasNoErrors) {
  templates_["site.mustache"] = "{{port}} {{node.name}}\n{{#node.tags.env}}{{.}}{{/node.tags.env}}";
  add_file("web.yaml", R"(- name: web
  hosts: role=web
  vars: {port: 80}
  tasks:
    - name: site
      template: {src: site.mustache, dest: "/etc/{{ node.name }}.conf"}
      when: vars.port,env=prod
)");
  EXPECT_EQ(check(), "");
}

TEST_F(ValidateTest, ReportsMissingTemplatesAndUndefinedVariables) {
  templates_["site.mustache"] = "ok {{port}}\n{{ missing }}\n{{#node}}{{name}} {{oops}}{{/node}}\n";
  add_file("web.yaml", R"(- name: web
  hosts: role=web
  vars: {port: 80}
  tasks:
    - name: site
      template: {src: site.mustache, dest: /etc/site.conf}
    - name: gone
      template: {src: gone.mustache, dest: /etc/gone.conf}
    - name: escape
      template: {src: ../secret, dest: /etc/secret}
    - name: content
      copy:
        dest: /etc/x
        content: |
          fine {{ port }}
          not {{ undefined_here }}
    - name: guarded
      when: vars.nothing
      package: {name: x}
)");
  const std::string text = check();
  EXPECT_THAT(text, HasSubstr("templates/site.mustache:2: template used by task \"site\" (web.yaml:5): "
                              "undefined variable \"missing\""));
  EXPECT_THAT(text, HasSubstr("templates/site.mustache:3: template used by task \"site\" (web.yaml:5): "
                              "undefined variable \"oops\""));
  EXPECT_THAT(text, Not(HasSubstr("\"name\"")));
  EXPECT_THAT(text, HasSubstr("web.yaml:8: task \"gone\": template \"gone.mustache\" not found"));
  EXPECT_THAT(text, HasSubstr("web.yaml:10: task \"escape\": template src \"../secret\" must be a path inside"));
  EXPECT_THAT(text, HasSubstr("web.yaml:16: task \"content\": undefined variable \"undefined_here\""));
  EXPECT_THAT(text, HasSubstr("web.yaml:18: task \"guarded\": when: undefined variable \"nothing\""));
  EXPECT_EQ(errors_.size(), 6u) << text;
}

TEST_F(ValidateTest, TwoTasksOnOnePathInOnePlayCollide) {
  add_file("a.yaml", R"(- name: a
  hosts: role=web
  tasks:
    - {name: first, copy: {dest: /etc/app.conf, content: a}}
    - {name: second, template: {src: t, dest: /etc//app.conf}}
)");
  templates_["t"] = "";
  const std::string text = check();
  EXPECT_THAT(text, HasSubstr("a.yaml:5: task \"second\" (template) manages /etc/app.conf, which task \"first\" "
                              "(copy, a.yaml:4) also manages in the same play"));
}

TEST_F(ValidateTest, PathsCollideAcrossPlaysWhoseSelectorsCanOverlap) {
  add_file("a.yaml", "- name: a\n  hosts: role=web\n  tasks:\n    - {name: one, file: {path: /srv/x}}\n");
  add_file("b.yaml", "- name: b\n  hosts: env=prod\n  tasks:\n    - {name: two, copy: {dest: /srv/x, content: x}}\n");
  add_file("c.yaml", "- name: c\n  hosts: role=db\n  tasks:\n    - {name: three, copy: {dest: /srv/x/, content: x}}\n");
  const std::string text = check();
  EXPECT_THAT(text, HasSubstr("b.yaml:4: task \"two\" (copy) manages /srv/x, which task \"one\" (file, a.yaml:4)"));
  EXPECT_THAT(text, HasSubstr("a node can match both hosts \"role=web\" and \"env=prod\""));
  // role=db cannot meet role=web, but can meet env=prod.
  EXPECT_THAT(text, HasSubstr("c.yaml:4: task \"three\" (copy) manages /srv/x, which task \"two\""));
  EXPECT_EQ(errors_.size(), 2u) << text;
}

TEST_F(ValidateTest, DisjointSelectorsMayShareAPath) {
  add_file("a.yaml", "- name: a\n  hosts: role=web\n  tasks:\n    - {name: one, copy: {dest: /x, content: a}}\n");
  add_file("b.yaml", "- name: b\n  hosts: role=db\n  tasks:\n    - {name: two, copy: {dest: /x, content: b}}\n");
  add_file("c.yaml", "- name: c\n  hosts: maintenance\n  tasks:\n    - {name: three, copy: {dest: /y, content: c}}\n");
  add_file("d.yaml", "- name: d\n  hosts: \"!maintenance\"\n  tasks:\n    - {name: four, file: {path: /y}}\n");
  EXPECT_EQ(check(), "");
}

TEST_F(ValidateTest, LineinfileTasksShareAFileButNotWithAWholeFileOwner) {
  add_file("a.yaml", R"(- name: a
  hosts: all
  tasks:
    - {name: one, lineinfile: {path: /etc/hosts, line: a}}
    - {name: two, lineinfile: {path: /etc/hosts, line: b}}
    - {name: three, copy: {dest: /etc/hosts, content: c}}
)");
  const std::string text = check();
  EXPECT_THAT(text, HasSubstr("a.yaml:6: task \"three\" (copy) manages /etc/hosts"));
  EXPECT_EQ(errors_.size(), 1u) << text;
}

TEST_F(ValidateTest, DuplicatePlayNames) {
  add_file("a.yaml", "- {name: same, hosts: role=a}\n");
  add_file("b.yaml", "- {name: same, hosts: role=b}\n");
  EXPECT_THAT(check(), HasSubstr("b.yaml:1: two plays are named \"same\" (the other is at a.yaml:1)"));
}

}  // namespace
}  // namespace roster::deploy
