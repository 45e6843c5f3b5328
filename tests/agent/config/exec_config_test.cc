// The `exec:` map and -exec-root: exec is off unless enabled, and an enabled
// exec needs trusted keys and an existing root.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/config_file.h"
#include "agent/config/flags.h"
#include "tests/agent/config/temp_dir.h"

namespace roster::config {
namespace {

using testing::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 32 bytes, base64.
constexpr const char* kKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

std::vector<std::string> texts(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const ConfigError& error : errors) out.push_back(error.to_string());
  return out;
}

LoadResult load(const TempDir& dir, const std::string& yaml, std::vector<std::string> args = {}) {
  const std::string file = dir.write("agent.yaml", yaml);
  args.insert(args.begin(), {"agent", "-dev", "-node", "n1", "-config-file", file});
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  Result<ParsedFlags> parsed = parse_agent_flags(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  if (!parsed.is_ok()) return {};
  return load_agent_config(parsed->flags, HostInfo{});
}

TEST(ExecConfigTest, OffByDefaultWithTheRealRoot) {
  AgentConfig config;
  EXPECT_FALSE(config.exec.enabled);
  EXPECT_EQ(config.exec.root, "/");
  EXPECT_THAT(config.exec.trusted_keys, IsEmpty());
}

TEST(ExecConfigTest, KeysParse) {
  std::vector<ConfigError> errors;
  ConfigFragment fragment = parse_config_text(
      std::string("exec:\n  enabled: true\n  root: /srv/sandbox\n  system: sandbox\n  trusted_keys: [\"") + kKey +
          "\"]\n",
      "exec.yaml",
      errors);
  ASSERT_THAT(texts(errors), IsEmpty());
  EXPECT_EQ(fragment.exec_enabled, true);
  EXPECT_EQ(fragment.exec_root, "/srv/sandbox");
  EXPECT_EQ(fragment.exec_trusted_keys, std::vector<std::string>{kKey});
  EXPECT_EQ(fragment.exec_system, "sandbox");
}

TEST(ExecConfigTest, FileErrorsNameTheLine) {
  std::vector<ConfigError> errors;
  parse_config_text("exec:\n  enabled: maybe\n  root: relative/dir\n  trusted_keys:\n    - \"not base64!\"\n"
                    "    - \"YWJj\"\n  shell: yes\n  system: docker\n",
                    "bad.yaml", errors);
  EXPECT_THAT(texts(errors), Contains(HasSubstr("bad.yaml:2: enabled must be true or false")));
  EXPECT_THAT(texts(errors), Contains(HasSubstr("bad.yaml:3: exec root: \"relative/dir\" is not an absolute path")));
  EXPECT_THAT(texts(errors), Contains(HasSubstr("bad.yaml:5: exec trusted_keys: \"not base64!\" is not base64")));
  EXPECT_THAT(texts(errors), Contains(HasSubstr("bad.yaml:6: exec trusted_keys: \"YWJj\" is 3 bytes")));
  EXPECT_THAT(texts(errors), Contains(HasSubstr("bad.yaml:7: unknown key \"shell\" in exec")));
  EXPECT_THAT(texts(errors), Contains(HasSubstr("bad.yaml:8: exec system must be \"real\"")));
}

TEST(ExecConfigTest, EnabledNeedsTrustedKeys) {
  TempDir dir;
  LoadResult result = load(dir, "exec:\n  enabled: true\n");
  EXPECT_THAT(texts(result.errors), Contains(HasSubstr("exec is enabled but exec.trusted_keys is empty")));
}

TEST(ExecConfigTest, EnabledNeedsAnExistingRoot) {
  TempDir dir;
  const std::string yaml = std::string("exec:\n  enabled: true\n  trusted_keys: [\"") + kKey + "\"]\n";
  LoadResult result = load(dir, yaml, {"-exec-root", dir.path("missing")});
  EXPECT_THAT(texts(result.errors), Contains(HasSubstr("is not an existing directory")));
  const std::string file = dir.write("a-file", "x");
  result = load(dir, yaml, {"-exec-root", file});
  EXPECT_THAT(texts(result.errors), Contains(HasSubstr("is not an existing directory")));
}

TEST(ExecConfigTest, FlagOverridesTheFilesRoot) {
  TempDir dir;
  const std::string yaml = std::string("exec:\n  enabled: true\n  root: /nonexistent-root\n  trusted_keys: [\"") +
                           kKey + "\"]\n";
  LoadResult result = load(dir, yaml, {"-exec-root=" + dir.path()});
  ASSERT_THAT(texts(result.errors), IsEmpty());
  EXPECT_TRUE(result.config.exec.enabled);
  EXPECT_EQ(result.config.exec.root, dir.path());
  EXPECT_EQ(result.config.exec.trusted_keys, std::vector<std::string>{kKey});
}

TEST(ExecConfigTest, DisabledIgnoresAMissingRoot) {
  TempDir dir;
  LoadResult result = load(dir, "exec:\n  root: /nonexistent-root\n");
  EXPECT_THAT(texts(result.errors), IsEmpty());
}

TEST(ExecConfigTest, FlagRefusesARelativeRoot) {
  std::vector<const char*> argv = {"agent", "-exec-root", "sandbox"};
  Result<ParsedFlags> parsed = parse_agent_flags(static_cast<int>(argv.size()), argv.data());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("-exec-root"));
  EXPECT_THAT(parsed.status().message(), HasSubstr("not an absolute path"));
}

TEST(ExecConfigTest, HelpListsTheFlag) { EXPECT_THAT(agent_help(), HasSubstr("-exec-root DIR")); }

}  // namespace
}  // namespace roster::config
