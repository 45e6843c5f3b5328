// Every kind of config mistake is reported with its file and 1-based line,
// and none of them throws.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "agent/config/agent_config.h"
#include "tests/agent/config/temp_dir.h"

namespace roster::config {
namespace {

using testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;

::testing::Matcher<const ConfigError&> ErrorAt(const std::string& file, int line, const std::string& text) {
  return AllOf(Field("file", &ConfigError::file, file), Field("line", &ConfigError::line, line),
               Field("message", &ConfigError::message, HasSubstr(text)));
}

class ConfigErrorsTest : public ::testing::Test {
 protected:
  // Loads `yaml` as the only config file and returns its errors.
  std::vector<ConfigError> errors_of(const std::string& yaml) {
    file_ = dir_.write("agent.yaml", yaml);
    return load_config_sources({file_}, {}).errors;
  }

  TempDir dir_;
  std::string file_;
};

TEST_F(ConfigErrorsTest, UnknownKeysAtEveryLevel) {
  auto errors = errors_of(
      "node_name: a\n"
      "nodename2: b\n"
      "services:\n"
      "  - name: web\n"
      "    prot: 80\n"
      "    check:\n"
      "      ttl: 5s\n"
      "      intervall: 3s\n"
      "ports: {https: 1}\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 2, "unknown key \"nodename2\" in the config file"),
                                  ErrorAt(file_, 9, "unknown key \"https\" in ports"),
                                  ErrorAt(file_, 5, "unknown key \"prot\" in a service; known keys: id, name"),
                                  ErrorAt(file_, 8, "unknown key \"intervall\"")));
}

TEST_F(ConfigErrorsTest, WrongTypes) {
  auto errors = errors_of(
      "node_name: [a, b]\n"
      "ports:\n"
      "  http: eighty\n"
      "enable_script_checks: maybe\n"
      "tags: [role]\n"
      "services:\n"
      "  - name: web\n"
      "    tags: primary\n"
      "    port: 80.5\n"
      "checks: {id: x}\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 1, "node_name must be a string, got a list"),
                                  ErrorAt(file_, 3, "http must be a whole number, got \"eighty\""),
                                  ErrorAt(file_, 4, "enable_script_checks must be true or false"),
                                  ErrorAt(file_, 5, "tags must be a map"),
                                  ErrorAt(file_, 10, "checks must be a list, got a map"),
                                  ErrorAt(file_, 8, "tags must be a list of strings"),
                                  ErrorAt(file_, 9, "port must be a whole number")));
}

TEST_F(ConfigErrorsTest, BadDurations) {
  auto errors = errors_of(
      "checks:\n"
      "  - name: a\n"
      "    ttl: 10 seconds\n"
      "  - name: b\n"
      "    http: http://localhost/\n"
      "    interval: 0s\n"
      "    timeout: -1s\n"
      "    deregister_critical_service_after: 5x\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 3, "ttl: "), ErrorAt(file_, 6, "interval must be longer than zero"),
                                  ErrorAt(file_, 7, "timeout: negative duration"),
                                  ErrorAt(file_, 8, "deregister_critical_service_after: unknown unit")));
}

TEST_F(ConfigErrorsTest, ACheckNeedsExactlyOneKind) {
  auto errors = errors_of(
      "checks:\n"
      "  - name: none\n"
      "    interval: 10s\n"
      "  - name: two\n"
      "    ttl: 10s\n"
      "    tcp: localhost:80\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 2, "has no kind; set exactly one of ttl, http, tcp or args"),
                                  ErrorAt(file_, 4, "sets ttl and tcp; a check has exactly one kind")));
}

TEST_F(ConfigErrorsTest, TcpCheckNeedsHostAndPort) {
  auto errors = errors_of(
      "checks:\n"
      "  - {name: a, tcp: localhost}\n"
      "  - {name: b, tcp: ':80'}\n"
      "  - {name: c, tcp: 'db:99999'}\n"
      "  - {name: d, tcp: '[::1]:5432'}\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 2, "\"localhost\" is not host:port"), ErrorAt(file_, 3, "has no host"),
                                  ErrorAt(file_, 4, "ports are 1-65535")));
}

TEST_F(ConfigErrorsTest, ServiceNeedsAName) {
  auto errors = errors_of(
      "services:\n"
      "  - port: 80\n"
      "    id: web\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 2, "a service needs a name")));
}

TEST_F(ConfigErrorsTest, PortsOutOfRange) {
  auto errors = errors_of(
      "ports:\n"
      "  http: 65536\n"
      "services:\n"
      "  - name: web\n"
      "    port: -1\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 2, "http 65536 is out of range; ports are 0-65535"),
                                  ErrorAt(file_, 5, "port -1 is out of range")));
}

TEST_F(ConfigErrorsTest, DuplicateServiceIdInOneFile) {
  auto errors = errors_of(
      "services:\n"
      "  - name: web\n"
      "  - name: api\n"
      "  - name: web\n"
      "    port: 81\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 4, "service id \"web\" is already defined at line 2")));
}

TEST_F(ConfigErrorsTest, DuplicateCheckIdsAndKeys) {
  auto errors = errors_of(
      "checks:\n"
      "  - {id: a, ttl: 1s}\n"
      "  - {id: a, ttl: 2s}\n"
      "  - name: b\n"
      "    TTL: 1s\n"
      "    ttl: 2s\n"
      "services:\n"
      "  - name: s\n"
      "    checks: [{id: x, ttl: 1s}, {id: x, ttl: 2s}]\n");
  // Services are checked before node-level checks.
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 9, "check id \"x\" is used twice in service \"s\""),
                                  ErrorAt(file_, 3, "check id \"a\" is already defined at line 2"),
                                  ErrorAt(file_, 6, "key \"ttl\" is given more than once")));
}

TEST_F(ConfigErrorsTest, RepeatedKeysInOneMap) {
  auto errors = errors_of(
      "node_name: a\n"
      "node_name: b\n"
      "tags:\n"
      "  role: web\n"
      "  role: db\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 2, "key \"node_name\" is given more than once"),
                                  ErrorAt(file_, 5, "tags key \"role\" is given more than once")));
}

TEST_F(ConfigErrorsTest, BadTags) {
  const std::string long_key(129, 'k');
  const std::string long_value(513, 'v');
  auto errors = errors_of(
      "tags:\n"
      "  ok: fine\n"
      "  \"\": empty-key\n"
      "  empty-value: \"\"\n"
      "  " + long_key + ": x\n"
      "  long: " + long_value + "\n"
      "  \"role=web\": x\n"
      "  max: " + std::string(512, 'v') + "\n"
      "  " + std::string(128, 'k') + ": max\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 3, "tag key is empty"), ErrorAt(file_, 4, "has an empty value"),
                                  ErrorAt(file_, 5, "the limit is 128"), ErrorAt(file_, 6, "the limit is 512"),
                                  ErrorAt(file_, 7, "may hold only letters")));
}

TEST_F(ConfigErrorsTest, OtherBadValues) {
  auto errors = errors_of(
      "bind_addr: 10.0.0.300\n"
      "log_level: loud\n"
      "datacenter: 'eu west'\n"
      "checks:\n"
      "  - {name: a, http: 'localhost/health'}\n"
      "  - {name: b, tcp: 'db:5432', method: POST}\n"
      "  - {name: c, ttl: 1s, status: fine}\n"
      "  - {ttl: 1s}\n"
      "  - {name: e, args: []}\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 1, "bind_addr \"10.0.0.300\" is not an IP address"),
                                  ErrorAt(file_, 2, "log level \"loud\""), ErrorAt(file_, 3, "datacenter \"eu west\""),
                                  ErrorAt(file_, 5, "must start with http:// or https://"),
                                  ErrorAt(file_, 6, "apply only to http checks"),
                                  ErrorAt(file_, 7, "status \"fine\" is not one of passing, warning, critical"),
                                  ErrorAt(file_, 8, "a check needs a name"),
                                  ErrorAt(file_, 9, "args must name a program")));
}

TEST_F(ConfigErrorsTest, CheckForAnUnknownService) {
  auto errors = errors_of(
      "services: [{name: web}]\n"
      "checks:\n"
      "  - {id: a, service_id: web, ttl: 1s}\n"
      "  - {id: b, service_id: api, ttl: 1s}\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 4, "names service_id \"api\", which no config file defines")));
}

TEST_F(ConfigErrorsTest, YamlSyntaxErrorIsReportedWithItsLine) {
  auto errors = errors_of(
      "node_name: a\n"
      "tags:\n"
      "  role: [web\n"
      "  env: prod\n");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].file, file_);
  EXPECT_GE(errors[0].line, 3);
  EXPECT_THAT(errors[0].message, HasSubstr("YAML syntax"));
}

TEST_F(ConfigErrorsTest, TopLevelMustBeAMap) {
  auto errors = errors_of("- a\n- b\n");
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 1, "the config file must be a map, got a list")));
  errors = errors_of("a: 1\n---\nb: 2\n");
  EXPECT_THAT(errors,
              ElementsAre(ErrorAt(file_, 1, "unknown key \"a\""), ErrorAt(file_, 3, "holds one YAML document")));
}

TEST_F(ConfigErrorsTest, UnreadableFilesAndDirsNameThePath) {
  const std::string missing = dir_.path("missing.yaml");
  const std::string missing_dir = dir_.path("missing.d");
  const std::string file = dir_.write("file.yaml", "node_name: a\n");
  LoadResult result = load_config_sources({missing, dir_.path()}, {missing_dir, file});
  EXPECT_THAT(result.errors,
              ElementsAre(ErrorAt(missing, 0, "cannot read config file"), ErrorAt(dir_.path(), 0, "is a directory"),
                          ErrorAt(missing_dir, 0, "does not exist"), ErrorAt(file, 0, "is not a directory")));
  EXPECT_EQ(result.errors[0].to_string(), missing + ": cannot read config file: No such file or directory");
}

TEST_F(ConfigErrorsTest, ValidatePathsCollectsErrorsFromEveryFile) {
  const std::string a = dir_.write("conf.d/a.yaml", "ports: {http: 99999}\n");
  const std::string b = dir_.write("conf.d/b.yml", "\nservices:\n  - port: 1\n");
  const std::string c = dir_.write("extra.yaml", "checks: [{name: x}]\n");
  auto errors = validate_paths({dir_.path("conf.d"), c});
  EXPECT_THAT(errors, ElementsAre(ErrorAt(a, 1, "out of range"), ErrorAt(b, 3, "needs a name"),
                                  ErrorAt(c, 1, "has no kind")));
  EXPECT_EQ(errors[1].to_string(), b + ":3: a service needs a name");
  EXPECT_THAT(validate_paths({}), ElementsAre(ErrorAt("", 0, "nothing to validate")));
}

TEST_F(ConfigErrorsTest, BinaryGarbageDoesNotThrow) {
  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage.push_back(static_cast<char>((i * 37) % 256));
  auto errors = errors_of(garbage);
  EXPECT_THAT(errors, ElementsAre(ErrorAt(file_, 1, "holds a NUL byte")));
  garbage.erase(std::remove(garbage.begin(), garbage.end(), '\0'), garbage.end());
  EXPECT_FALSE(errors_of(garbage).empty());
  EXPECT_FALSE(errors_of("{{{{[[[[").empty());
  EXPECT_FALSE(errors_of("tags: {a: {b: c}}\nservices: [[1]]\nchecks: [3]\n").empty());
}

}  // namespace
}  // namespace roster::config
