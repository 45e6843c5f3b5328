#include "server/deploy/bundle_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/exec/bundle_codec.h"
#include "server/playbook/loader.h"

namespace roster::deploy {
namespace {

using ::testing::HasSubstr;

class BundleBuilderTest : public ::testing::Test {
 protected:
  BundleBuilderTest() {
    node_.name = "web-1";
    node_.id = "id-web-1";
    node_.address = "10.0.0.5";
    node_.tags = {{"role", "web"}, {"env", "prod"}};
    node_.facts = deploy_records::NodeFacts{"web-1.example", "Debian GNU/Linux 12 (bookworm)", 4, 8ull << 30};
  }

  void add_file(const std::string& name, const std::string& text) {
    std::vector<PlaybookError> errors;
    std::vector<Playbook> more = parse_playbook_text(text, name, errors);
    for (const PlaybookError& error : errors) ADD_FAILURE() << error.to_string();
    std::move(more.begin(), more.end(), std::back_inserter(playbooks_));
  }

  Result<BuiltBundle> build() const {
    TemplateSource source = [this](const std::string& src) -> std::optional<std::string> {
      auto found = templates_.find(src);
      if (found == templates_.end()) return std::nullopt;
      return found->second;
    };
    return build_bundle(playbooks_, node_, source);
  }

  BuiltBundle built() const {
    Result<BuiltBundle> result = build();
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? *result : BuiltBundle{};
  }

  std::string build_error() const {
    Result<BuiltBundle> result = build();
    EXPECT_FALSE(result.is_ok());
    if (result.is_ok()) return "";
    EXPECT_EQ(result.status().code(), StatusCode::invalid_argument);
    return result.status().message();
  }

  std::vector<Playbook> playbooks_;
  NodeView node_;
  std::map<std::string, std::string> templates_;
};

TEST_F(BundleBuilderTest, OnlyMatchingPlaybooksContributeInLoadOrder) {
  add_file("a.yaml", R"yaml(- name: web
  hosts: role=web
  tasks:
    - {name: one, file: {path: /a, state: directory}}
- name: db
  hosts: role=db
  tasks:
    - {name: two, file: {path: /b, state: directory}}
- name: everyone
  hosts: all
  tasks:
    - {name: three, file: {path: /c, state: directory}}
)yaml");
  BuiltBundle bundle = built();
  EXPECT_EQ(bundle.playbooks, (std::vector<std::string>{"web", "everyone"}));
  ASSERT_EQ(bundle.bundle.tasks.size(), 2u);
  EXPECT_EQ(bundle.bundle.tasks[0].name, "one");
  EXPECT_EQ(bundle.bundle.tasks[1].name, "three");
  EXPECT_EQ(bundle.hash, exec::content_hash(bundle.bundle, bundle.playbooks));

  node_.tags = {{"role", "cache"}};
  playbooks_.erase(playbooks_.begin() + 2);
  BuiltBundle empty = built();
  EXPECT_TRUE(empty.bundle.tasks.empty());
  EXPECT_TRUE(empty.playbooks.empty());
  EXPECT_EQ(empty.hash.size(), 64u);
}

TEST_F(BundleBuilderTest, WhenSelectsOnTagsAndVars) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: role=web
  vars: {tls: "true"}
  tasks:
    - {name: prod only, file: {path: /p, state: directory}, when: env=prod}
    - {name: dev only, file: {path: /d, state: directory}, when: env=dev}
    - {name: tls, file: {path: /t, state: directory}, when: "vars.tls=true,env in (prod,qa)"}
    - {name: no tls, file: {path: /n, state: directory}, when: vars.tls=false}
)yaml");
  std::vector<std::string> names;
  for (const exec::Task& task : built().bundle.tasks) names.push_back(task.name);
  EXPECT_EQ(names, (std::vector<std::string>{"prod only", "tls"}));
}

TEST_F(BundleBuilderTest, WhenNamingAnUndefinedVarIsAnError) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - {name: t, file: {path: /p, state: directory}, when: vars.nope=1}
)yaml");
  EXPECT_THAT(build_error(), HasSubstr("web.yaml:4: task \"t\": when: undefined variable \"nope\""));
}

TEST_F(BundleBuilderTest, ArgumentsAndTemplatesAreRenderedForTheNode) {
  templates_["site.mustache"] =
      "# {{ node.name }} ({{ node.tags.role }}), {{ facts.cpus }} CPUs, {{ facts.memory_mb }} MB\n"
      "listen {{ port }}; root \"{{ root }}\"; <&>\n";
  add_file("web.yaml", R"yaml(- name: web
  hosts: role=web
  vars: {port: 8080, root: /srv/www}
  tasks:
    - name: index
      copy:
        dest: "{{ root }}/index.html"
        content: |
          <h1>{{ node.name }} on {{ facts.hostname }}</h1>
    - name: site
      template: {src: site.mustache, dest: "/etc/nginx/{{ node.tags.env }}.conf", mode: "0644"}
    - name: probe
      command: {argv: [/bin/echo, "{{ node.address }}"], creates: "{{ root }}/done"}
)yaml");
  BuiltBundle bundle = built();
  ASSERT_EQ(bundle.bundle.tasks.size(), 3u);
  const exec::Args& copy = bundle.bundle.tasks[0].args;
  EXPECT_EQ(std::get<std::string>(copy.at("dest")), "/srv/www/index.html");
  EXPECT_EQ(std::get<std::string>(copy.at("content")), "<h1>web-1 on web-1.example</h1>\n");

  const exec::Task& site = bundle.bundle.tasks[1];
  EXPECT_EQ(site.module, "template");
  EXPECT_FALSE(site.args.count("src"));
  EXPECT_EQ(std::get<std::string>(site.args.at("dest")), "/etc/nginx/prod.conf");
  EXPECT_EQ(std::get<std::string>(site.args.at("mode")), "0644");
  EXPECT_EQ(std::get<std::string>(site.args.at("content")),
            "# web-1 (web), 4 CPUs, 8192 MB\nlisten 8080; root \"/srv/www\"; <&>\n");

  const exec::Args& probe = bundle.bundle.tasks[2].args;
  EXPECT_EQ(std::get<exec::StringList>(probe.at("argv")), (exec::StringList{"/bin/echo", "10.0.0.5"}));
  EXPECT_EQ(std::get<std::string>(probe.at("creates")), "/srv/www/done");
}

TEST_F(BundleBuilderTest, MissingTemplateIsAnError) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - name: site
      template: {src: gone.mustache, dest: /etc/x}
)yaml");
  EXPECT_THAT(build_error(), HasSubstr("web.yaml:5: task \"site\": template \"gone.mustache\" not found"));
}

TEST_F(BundleBuilderTest, UndefinedFactOfANodeWithoutFactsIsAnError) {
  templates_["t.mustache"] = "ok\n{{ facts.os_release }}\n";
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - name: site
      template: {src: t.mustache, dest: /etc/x}
)yaml");
  EXPECT_TRUE(build().is_ok());
  node_.facts.reset();
  const std::string error = build_error();
  EXPECT_THAT(error, HasSubstr("templates/t.mustache:2: undefined variable \"facts.os_release\": node web-1 has "
                               "not reported its facts"));
  EXPECT_THAT(error, HasSubstr("task \"site\", web.yaml:4"));
}

TEST_F(BundleBuilderTest, UndefinedVariableInAnArgumentNamesItsLine) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - name: motd
      copy:
        dest: /etc/motd
        content: |
          fine
          {{ missing }}
)yaml");
  EXPECT_THAT(build_error(), HasSubstr("web.yaml:9: undefined variable \"missing\""));
}

TEST_F(BundleBuilderTest, ArgumentsGetTheTypesTheModulesRead) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  vars: {wait: 2m}
  tasks:
    - {name: svc, service: {name: nginx, state: started, enabled: "yes"}}
    - {name: off, service: {name: telnet, enabled: "false"}}
    - {name: one package, package: {name: nginx}}
    - {name: two packages, package: {name: [curl, jq], state: absent}}
    - {name: cmd, command: {argv: [/bin/true], timeout: "{{ wait }}", unless: [/bin/false]}}
    - {name: plain seconds, command: {argv: [/bin/true], timeout: 45}}
    - {name: fraction, command: {argv: [/bin/true], timeout: 1500ms}}
    - {name: tags, tag: {stage: base-done, role: web}}
    - {name: line, lineinfile: {path: /etc/x, line: a, create: "true"}}
)yaml");
  BuiltBundle bundle = built();
  ASSERT_EQ(bundle.bundle.tasks.size(), 9u);
  const auto& tasks = bundle.bundle.tasks;
  EXPECT_EQ(std::get<bool>(tasks[0].args.at("enabled")), true);
  EXPECT_EQ(std::get<std::string>(tasks[0].args.at("state")), "started");
  EXPECT_EQ(std::get<bool>(tasks[1].args.at("enabled")), false);
  EXPECT_EQ(std::get<exec::StringList>(tasks[2].args.at("name")), (exec::StringList{"nginx"}));
  EXPECT_EQ(std::get<exec::StringList>(tasks[3].args.at("name")), (exec::StringList{"curl", "jq"}));
  EXPECT_EQ(std::get<int64_t>(tasks[4].args.at("timeout")), 120);
  EXPECT_EQ(std::get<bool>(tasks[8].args.at("create")), true);
  EXPECT_EQ(std::get<exec::StringList>(tasks[4].args.at("unless")), (exec::StringList{"/bin/false"}));
  EXPECT_EQ(std::get<int64_t>(tasks[5].args.at("timeout")), 45);
  EXPECT_EQ(std::get<int64_t>(tasks[6].args.at("timeout")), 2);
  EXPECT_EQ(tasks[7].args.size(), 1u);
  EXPECT_EQ(std::get<exec::StringList>(tasks[7].args.at("set")), (exec::StringList{"role=web", "stage=base-done"}));
}

TEST_F(BundleBuilderTest, ValueThatCannotConvertIsAnErrorWithItsLine) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - name: cmd
      command:
        argv: [/bin/true]
        timeout: abc
)yaml");
  EXPECT_THAT(build_error(), HasSubstr("web.yaml:7: task \"cmd\": command timeout must be a duration like \"30s\""));
  playbooks_.clear();
  add_file("zero.yaml", "- {name: z, hosts: all, tasks: [{name: c, command: {argv: [/bin/true], timeout: 0s}}]}\n");
  EXPECT_THAT(build_error(), HasSubstr("longer than zero"));
}

TEST_F(BundleBuilderTest, OnlyNotifiedHandlersAreIncluded) {
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - {name: conf, file: {path: /etc/a, state: directory}, notify: reload}
    - {name: skipped, file: {path: /etc/b, state: directory}, notify: restart, when: env=dev}
  handlers:
    - {name: restart, service: {name: nginx, state: restarted}}
    - {name: reload, service: {name: nginx, state: reloaded}}
    - {name: unused, service: {name: other, state: restarted}}
)yaml");
  BuiltBundle bundle = built();
  ASSERT_EQ(bundle.bundle.handlers.size(), 1u);
  EXPECT_EQ(bundle.bundle.handlers[0].name, "reload");
  EXPECT_EQ(bundle.bundle.tasks[0].notify, (std::vector<std::string>{"reload"}));
}

TEST_F(BundleBuilderTest, SameHandlerNameInTwoMatchingPlaybooksIsAnError) {
  const std::string play = R"yaml(  hosts: all
  tasks:
    - {name: conf, file: {path: /etc/NAME, state: directory}, notify: reload}
  handlers:
    - {name: reload, service: {name: nginx, state: restarted}}
)yaml";
  add_file("a.yaml", "- name: a\n" + play);
  add_file("b.yaml", "- name: b\n" + play);
  EXPECT_THAT(build_error(), HasSubstr("b.yaml:6: handler \"reload\" of play \"b\" has the same name as a handler of "
                                       "play \"a\""));
}

TEST_F(BundleBuilderTest, HashIsDeterministicAndFollowsTheNode) {
  templates_["t.mustache"] = "{{ node.tags.env }}\n";
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - {name: site, template: {src: t.mustache, dest: /etc/x}}
)yaml");
  const std::string first = built().hash;
  EXPECT_EQ(built().hash, first);
  node_.tags["zzz"] = "unrelated";
  EXPECT_EQ(built().hash, first);
  node_.tags["env"] = "qa";
  EXPECT_NE(built().hash, first);
}

TEST_F(BundleBuilderTest, BundleTooLargeForAgentsIsAnError) {
  templates_["big.mustache"] = std::string(exec::kMaxBundleBytes, 'x');
  add_file("web.yaml", R"yaml(- name: web
  hosts: all
  tasks:
    - {name: big, template: {src: big.mustache, dest: /etc/big}}
)yaml");
  EXPECT_THAT(build_error(), HasSubstr("agents refuse bundles over 4194304 bytes"));
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(BundleBuilderExamplesTest, ExamplePlaybooksBuildForAWebNode) {
  const std::string directory = std::string(ROSTER_SOURCE_DIR) + "/playbooks";
  std::vector<PlaybookError> errors;
  PlaybookSet set = load_playbook_directory(directory, errors);
  for (const PlaybookError& error : errors) ADD_FAILURE() << error.to_string();
  NodeView node{"web-1", "id-1", "10.0.0.5", {{"role", "web"}, {"stage", "base-done"}},
                deploy_records::NodeFacts{"web-1", "Debian GNU/Linux 12 (bookworm)", 2, 4ull << 30}};
  TemplateSource source = [&](const std::string& src) -> std::optional<std::string> {
    std::ifstream probe(directory + "/templates/" + src);
    if (!probe) return std::nullopt;
    return read(directory + "/templates/" + src);
  };
  Result<BuiltBundle> built = build_bundle(set.playbooks, node, source);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  EXPECT_EQ(built->playbooks, (std::vector<std::string>{"base", "web"}));
  std::vector<std::string> names;
  for (const exec::Task& task : built->bundle.tasks) names.push_back(task.name);
  // The production-only check is left out: the node has no env tag.
  EXPECT_EQ(names, (std::vector<std::string>{"roster's own config folder", "message of the day",
                                             "journald config folder", "persistent journal", "base packages",
                                             "base is done", "nginx is installed", "document root", "index page",
                                             "available sites folder", "enabled sites folder", "site config",
                                             "site enabled", "nginx is running"}));
  std::vector<std::string> handlers;
  for (const exec::Task& task : built->bundle.handlers) handlers.push_back(task.name);
  EXPECT_EQ(handlers, (std::vector<std::string>{"restart journald", "reload nginx"}));
  const exec::Task& site = built->bundle.tasks[11];
  const std::string& content = std::get<std::string>(site.args.at("content"));
  EXPECT_THAT(content, HasSubstr("# web-1: role web, 2 CPUs, 4096 MB"));
  EXPECT_THAT(content, HasSubstr("listen 8080;"));
  EXPECT_THAT(content, HasSubstr("server_name www.example.com web-1;"));
  EXPECT_THAT(content, ::testing::Not(HasSubstr("X-Environment")));
  EXPECT_THAT(std::get<std::string>(built->bundle.tasks[1].args.at("content")),
              HasSubstr("web-1 (10.0.0.5), Debian GNU/Linux 12 (bookworm), 2 CPUs"));
  EXPECT_EQ(std::get<bool>(built->bundle.tasks[13].args.at("enabled")), true);
}

}  // namespace
}  // namespace roster::deploy
