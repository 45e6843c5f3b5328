#include "server/playbook/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace roster::deploy {
namespace {

using ::testing::HasSubstr;

struct Loaded {
  std::vector<Playbook> plays;
  std::vector<PlaybookError> errors;
};

Loaded load(const std::string& text) {
  Loaded loaded;
  loaded.plays = parse_playbook_text(text, "test.yaml", loaded.errors);
  return loaded;
}

std::string all_errors(const std::vector<PlaybookError>& errors) {
  std::string out;
  for (const PlaybookError& error : errors) out += error.to_string() + "\n";
  return out;
}

const std::string& arg(const Task& task, const std::string& name) {
  return std::get<std::string>(task.args.at(name).value);
}

TEST(PlaybookLoaderTest, LoadsAFullPlay) {
  Loaded loaded = load(R"(
- name: web
  hosts: role=web,!maintenance
  serial: "30%"
  max_fail_percentage: 20
  vars:
    port: 8080
  tasks:
    - name: config
      template:
        src: site.mustache
        dest: /etc/site.conf
        mode: "0644"
      when: env=prod
      notify: reload
    - name: run
      command:
        argv: [/bin/true, --quiet]
        creates: /var/done
    - name: packages
      package:
        name: [nginx, curl]
    - name: staged
      tag:
        stage: web-done
  handlers:
    - name: reload
      service:
        name: nginx
        state: reloaded
)");
  ASSERT_TRUE(loaded.errors.empty()) << all_errors(loaded.errors);
  ASSERT_EQ(loaded.plays.size(), 1u);
  const Playbook& play = loaded.plays[0];
  EXPECT_EQ(play.name, "web");
  EXPECT_EQ(play.location.line, 2);
  EXPECT_EQ(play.hosts.text(), "role=web,!maintenance");
  EXPECT_TRUE(play.hosts.matches({{"role", "web"}}));
  EXPECT_TRUE(play.serial.percent);
  EXPECT_EQ(play.serial.value, 30);
  EXPECT_EQ(play.max_fail_percentage, 20);
  EXPECT_EQ(play.vars.at("port"), "8080");
  ASSERT_EQ(play.tasks.size(), 4u);
  EXPECT_EQ(play.tasks[0].module, "template");
  EXPECT_EQ(arg(play.tasks[0], "dest"), "/etc/site.conf");
  EXPECT_EQ(play.tasks[0].args.at("dest").line, 12);
  EXPECT_EQ(play.tasks[0].location.line, 9);
  ASSERT_TRUE(play.tasks[0].when.has_value());
  EXPECT_TRUE(play.tasks[0].when->matches({{"env", "prod"}}));
  EXPECT_EQ(play.tasks[0].notify, std::vector<std::string>{"reload"});
  EXPECT_EQ(std::get<std::vector<std::string>>(play.tasks[1].args.at("argv").value),
            (std::vector<std::string>{"/bin/true", "--quiet"}));
  EXPECT_EQ(std::get<std::vector<std::string>>(play.tasks[2].args.at("name").value),
            (std::vector<std::string>{"nginx", "curl"}));
  EXPECT_EQ((std::get<std::map<std::string, std::string>>(play.tasks[3].args.at("tags").value)),
            (std::map<std::string, std::string>{{"stage", "web-done"}}));
  ASSERT_EQ(play.handlers.size(), 1u);
  EXPECT_EQ(play.handlers[0].module, "service");
}

TEST(PlaybookLoaderTest, ASinglePlayMayBeAMap) {
  Loaded loaded = load("name: one\nhosts: all\ntasks: []\n");
  ASSERT_TRUE(loaded.errors.empty()) << all_errors(loaded.errors);
  ASSERT_EQ(loaded.plays.size(), 1u);
  EXPECT_TRUE(loaded.plays[0].hosts.matches_all());
  EXPECT_EQ(loaded.plays[0].serial.value, 0);
}

TEST(PlaybookLoaderTest, SerialTakesACount) {
  Loaded loaded = load("name: one\nhosts: all\nserial: 2\n");
  ASSERT_TRUE(loaded.errors.empty()) << all_errors(loaded.errors);
  EXPECT_FALSE(loaded.plays[0].serial.percent);
  EXPECT_EQ(loaded.plays[0].serial.value, 2);
}

TEST(PlaybookLoaderTest, ReportsEveryErrorWithItsLine) {
  Loaded loaded = load(R"(- name: broken
  hosts: "role="
  become: yes
  serial: "150%"
  max_fail_percentage: lots
  vars:
    list: [a, b]
  tasks:
    - name: shell
      shell: echo hi
    - name: bad arg
      file:
        path: /x
        recurse: true
    - name: bad state
      service:
        name: x
        state: sleeping
    - name: two modules
      copy: {dest: /a, content: a}
      package: {name: a}
    - name: missing field
      copy: {dest: /b}
    - name: notifies nobody
      package: {name: a}
      notify: [restart it]
    - copy: {dest: /c, content: c}
)");
  const std::string text = all_errors(loaded.errors);
  EXPECT_THAT(text, HasSubstr("test.yaml:2: hosts: bad selector"));
  EXPECT_THAT(text, HasSubstr("test.yaml:3: unknown field \"become\" in a play"));
  EXPECT_THAT(text, HasSubstr("test.yaml:4: serial must be a count"));
  EXPECT_THAT(text, HasSubstr("test.yaml:5: max_fail_percentage must be a whole number"));
  EXPECT_THAT(text, HasSubstr("test.yaml:7: variable \"list\" must be a scalar"));
  EXPECT_THAT(text, HasSubstr("test.yaml:10: unknown module or field \"shell\""));
  EXPECT_THAT(text, HasSubstr("test.yaml:14: unknown field \"recurse\" for module file"));
  EXPECT_THAT(text, HasSubstr("test.yaml:18: service state must be one of started, stopped, restarted, reloaded"));
  EXPECT_THAT(text, HasSubstr("test.yaml:21: task \"two modules\" has more than one module (copy and package)"));
  EXPECT_THAT(text, HasSubstr("test.yaml:23: module copy needs \"content\""));
  EXPECT_THAT(text, HasSubstr("test.yaml:26: task \"notifies nobody\" notifies \"restart it\""));
  EXPECT_THAT(text, HasSubstr("test.yaml:27: task has no name"));
  EXPECT_EQ(loaded.errors.size(), 12u) << text;
}

TEST(PlaybookLoaderTest, ModuleRules) {
  Loaded loaded = load(R"(- name: rules
  hosts: all
  tasks:
    - name: link without src
      file: {path: /a, state: link}
    - name: src without link
      file: {path: /b, src: /c}
    - name: lineinfile without line
      lineinfile: {path: /d}
    - name: argv as a string
      command: {argv: /bin/true}
    - name: empty tag
      tag: {}
    - name: module args not a map
      package: nginx
    - name: tag key a selector cannot name
      tag: {"role web": x}
    - name: tag value with a newline
      tag: {stage: "a\nb"}
)");
  const std::string text = all_errors(loaded.errors);
  EXPECT_THAT(text, HasSubstr("test.yaml:5: file with state link needs \"src\""));
  EXPECT_THAT(text, HasSubstr("test.yaml:7: file takes \"src\" only with state: link"));
  EXPECT_THAT(text, HasSubstr("test.yaml:9: lineinfile needs \"line\""));
  EXPECT_THAT(text, HasSubstr("test.yaml:11: command argv must be a list of strings"));
  EXPECT_THAT(text, HasSubstr("test.yaml:13: tag sets no tags"));
  EXPECT_THAT(text, HasSubstr("test.yaml:15: module package takes a map of arguments"));
  EXPECT_THAT(text, HasSubstr("test.yaml:17: tag key \"role web\" must be 1-128 letters"));
  EXPECT_THAT(text, HasSubstr("test.yaml:19: tag value for \"stage\" must be at most 512 characters"));
}

TEST(PlaybookLoaderTest, AnUnquotedBangSelectorGetsAHint) {
  Loaded loaded = load("- name: x\n  hosts: !maintenance\n  tasks:\n    - name: t\n      when: !gpu\n"
                       "      package: {name: a}\n");
  const std::string text = all_errors(loaded.errors);
  EXPECT_THAT(text, HasSubstr("test.yaml:2: hosts: YAML reads !maintenance as a type tag; quote the selector: "
                              "hosts: \"!maintenance\""));
  EXPECT_THAT(text, HasSubstr("test.yaml:5: when: YAML reads !gpu as a type tag"));
  EXPECT_EQ(loaded.errors.size(), 2u) << text;
}

TEST(PlaybookLoaderTest, YamlSyntaxErrorsCarryTheLine) {
  Loaded loaded = load("- name: x\n  hosts: all\n  tasks: [\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_THAT(loaded.errors[0].to_string(), HasSubstr("test.yaml:"));
  EXPECT_THAT(loaded.errors[0].message, HasSubstr("YAML syntax error"));
  EXPECT_GT(loaded.errors[0].line, 0);
}

TEST(PlaybookLoaderTest, WrongShapesAreErrorsNotCrashes) {
  for (const char* text : {"42", "- 42", "- name: x\n  hosts: [a]", "- name: x\n  hosts: all\n  tasks: {a: b}",
                           "- name: x\n  hosts: all\n  tasks: [42]", "- name: x\n  hosts: all\n  vars: [a]",
                           "- {name: [x], hosts: all}", "- name: x\n  hosts: all\n  handlers:\n    - name: h\n"
                           "      service: {name: a}\n      notify: h\n"}) {
    Loaded loaded = load(text);
    EXPECT_FALSE(loaded.errors.empty()) << text;
  }
  EXPECT_TRUE(load("").errors.empty());
}

TEST(PlaybookLoaderTest, ManagedPaths) {
  Loaded loaded = load(R"(- name: paths
  hosts: all
  tasks:
    - {name: a, file: {path: /a}}
    - {name: b, copy: {dest: /b, content: b}}
    - {name: c, lineinfile: {path: /c, line: c}}
    - {name: d, command: {argv: [x]}}
)");
  ASSERT_TRUE(loaded.errors.empty()) << all_errors(loaded.errors);
  const auto& tasks = loaded.plays[0].tasks;
  EXPECT_EQ(managed_paths(tasks[0])[0].path, "/a");
  EXPECT_TRUE(managed_paths(tasks[0])[0].whole_file);
  EXPECT_EQ(managed_paths(tasks[1])[0].path, "/b");
  EXPECT_FALSE(managed_paths(tasks[2])[0].whole_file);
  EXPECT_TRUE(managed_paths(tasks[3]).empty());
}

// yaml-cpp 0.7's LoadAll never ends on a line starting with ',' (found by
// playbook_loader_fuzz); the loader reports it instead of running out of memory.
TEST(LoaderTest, StrayCommaIsAnErrorNotAnEndlessParse) {
  std::vector<PlaybookError> errors;
  EXPECT_TRUE(parse_playbook_text("- name: web\n  hosts: all\n, tasks: []\n", "web.yaml", errors).empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].to_string(), HasSubstr("web.yaml: YAML syntax error: the parser does not reach the end"));
}

}  // namespace
}  // namespace roster::deploy
