// What a Raft server cluster needs, with Consul's names and defaults:
// ports.server, bootstrap_expect, bootstrap, the performance and autopilot
// maps and check_update_interval, their flags, and the rules that tie
// bootstrap to server mode.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "agent/config/config_file.h"
#include "agent/config/defaults.h"
#include "agent/config/flags.h"
#include "agent/config/validation.h"
#include "tests/agent/config/temp_dir.h"

namespace roster::config {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::vector<std::string> texts(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const ConfigError& error : errors) out.push_back(error.to_string());
  return out;
}

Result<ParsedFlags> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "agent");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return parse_agent_flags(static_cast<int>(argv.size()), argv.data());
}

std::string flag_error(std::vector<std::string> args) {
  Result<ParsedFlags> parsed = parse(std::move(args));
  EXPECT_FALSE(parsed.is_ok());
  return parsed.is_ok() ? "" : parsed.status().message();
}

// Loads `yaml` as the only config file, with `args` after it, as `roster agent` would.
LoadResult load(const TempDir& dir, const std::string& yaml, std::vector<std::string> args = {}) {
  const std::string file = dir.write("agent.yaml", yaml);
  args.insert(args.begin(), {"-node", "n1", "-advertise", "10.0.0.1", "-config-file", file});
  Result<ParsedFlags> parsed = parse(std::move(args));
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  if (!parsed.is_ok()) return {};
  return load_agent_config(parsed->flags, HostInfo{});
}

TEST(ServerConfigTest, DefaultsAreConsuls) {
  AgentConfig config;
  EXPECT_EQ(config.server_port, 8300);
  EXPECT_EQ(config.bootstrap_expect, 0);
  EXPECT_FALSE(config.bootstrap);
  EXPECT_EQ(config.rpc_hold_timeout, 7s);
  EXPECT_EQ(config.raft_multiplier, 1);
  EXPECT_EQ(config.check_update_interval, 5min);
  EXPECT_TRUE(config.autopilot.cleanup_dead_servers);
  EXPECT_EQ(config.autopilot.dead_server_cleanup_after, 60s);
  EXPECT_EQ(config.autopilot.server_stabilization_time, 10s);
  EXPECT_EQ(config.autopilot.min_quorum, 0);
}

TEST(ServerConfigTest, KeysParse) {
  std::vector<ConfigError> errors;
  ConfigFragment fragment = parse_config_text(
      "ports: {server: 9300}\n"
      "bootstrap_expect: 3\n"
      "performance:\n"
      "  rpc_hold_timeout: 2s\n"
      "  raft_multiplier: 5\n"
      "check_update_interval: 30s\n"
      "autopilot:\n"
      "  cleanup_dead_servers: false\n"
      "  dead_server_cleanup_after: 5m\n"
      "  server_stabilization_time: 1s\n"
      "  min_quorum: 3\n",
      "server.yaml", errors);
  ASSERT_THAT(texts(errors), IsEmpty());
  EXPECT_EQ(fragment.server_port, 9300);
  EXPECT_EQ(fragment.bootstrap_expect, 3);
  EXPECT_EQ(fragment.bootstrap_expect_location, (SourceLocation{"server.yaml", 2}));
  EXPECT_FALSE(fragment.bootstrap.has_value());
  EXPECT_EQ(fragment.rpc_hold_timeout, std::chrono::nanoseconds(2s));
  EXPECT_EQ(fragment.raft_multiplier, 5);
  EXPECT_EQ(fragment.check_update_interval, std::chrono::nanoseconds(30s));
  EXPECT_EQ(fragment.autopilot_cleanup_dead_servers, false);
  EXPECT_EQ(fragment.autopilot_dead_server_cleanup_after, std::chrono::nanoseconds(5min));
  EXPECT_EQ(fragment.autopilot_server_stabilization_time, std::chrono::nanoseconds(1s));
  EXPECT_EQ(fragment.autopilot_min_quorum, 3);
}

TEST(ServerConfigTest, ConsulSpellingsLoadIntoTheConfig) {
  TempDir dir;
  const std::string file = dir.write("server.yaml",
                                     "Server: true\n"
                                     "Ports: {Server: 0}\n"
                                     "Bootstrap: true\n"
                                     "Performance: {RPCHoldTimeout: 500ms, RaftMultiplier: 10}\n"
                                     "CheckUpdateInterval: 0\n"
                                     "Autopilot: {CleanupDeadServers: false, DeadServerCleanupAfter: 2m, "
                                     "ServerStabilizationTime: 3s, MinQuorum: 5}\n");
  LoadResult result = load_config_sources({file}, {});
  ASSERT_THAT(texts(result.errors), IsEmpty());
  const AgentConfig& config = result.config;
  EXPECT_TRUE(config.server);
  EXPECT_EQ(config.server_port, 0);
  EXPECT_TRUE(config.bootstrap);
  EXPECT_EQ(config.bootstrap_expect, 0);
  EXPECT_EQ(config.rpc_hold_timeout, 500ms);
  EXPECT_EQ(config.raft_multiplier, 10);
  EXPECT_EQ(config.check_update_interval, 0s);  // 0: write every change
  EXPECT_EQ(config.autopilot, (AutopilotSettings{false, 2min, 3s, 5}));
  EXPECT_EQ(result.locations.at("bootstrap"), (SourceLocation{file, 3}));
}

TEST(ServerConfigTest, LaterFilesOverrideAndMoveTheLocation) {
  TempDir dir;
  const std::string first = dir.write("conf.d/10.yaml", "bootstrap_expect: 5\nautopilot: {cleanup_dead_servers: false}\n");
  const std::string second = dir.write("conf.d/20.yaml", "datacenter: dc2\nbootstrap_expect: 3\n");
  LoadResult result = load_config_sources({}, {dir.path("conf.d")});
  ASSERT_THAT(texts(result.errors), IsEmpty());
  EXPECT_EQ(result.config.bootstrap_expect, 3);
  EXPECT_FALSE(result.config.autopilot.cleanup_dead_servers);  // the later file leaves it alone
  EXPECT_EQ(result.config.autopilot.dead_server_cleanup_after, 60s);
  EXPECT_EQ(result.locations.at("bootstrap_expect"), (SourceLocation{second, 2}));
  EXPECT_EQ(result.locations.count("bootstrap"), 0u);
}

TEST(ServerConfigTest, FileErrorsNameTheLine) {
  std::vector<ConfigError> errors;
  parse_config_text("bootstrap_expect: -1\n"                     // 1
                    "bootstrap: yes please\n"                    // 2
                    "ports: {server: 70000}\n"                   // 3
                    "performance:\n"                             // 4
                    "  raft_multiplier: 0\n"                     // 5
                    "  rpc_hold_timeout: -1s\n"                  // 6
                    "  leave_drain_time: 5s\n"                   // 7
                    "check_update_interval: -5m\n"               // 8
                    "autopilot:\n"                               // 9
                    "  dead_server_cleanup_after: 0s\n"          // 10
                    "  server_stabilization_time: -10s\n"        // 11
                    "  cleanup_dead_servers: sometimes\n"        // 12
                    "  max_trailing_logs: 250\n",                // 13
                    "bad.yaml", errors);
  EXPECT_THAT(texts(errors),
              ElementsAre("bad.yaml:1: bootstrap_expect cannot be -1; it must be 0 (off) or the number of servers to "
                          "wait for",
                          "bad.yaml:2: bootstrap must be true or false, got \"yes please\"",
                          "bad.yaml:3: server 70000 is out of range; ports are 0-65535",
                          "bad.yaml:7: unknown key \"leave_drain_time\" in performance; known keys: "
                          "rpc_hold_timeout, raft_multiplier",
                          "bad.yaml:5: raft_multiplier cannot be 0; it must be from 1 to 10",
                          HasSubstr("bad.yaml:6: rpc_hold_timeout: negative duration \"-1s\""),
                          HasSubstr("bad.yaml:8: check_update_interval: negative duration \"-5m\""),
                          "bad.yaml:13: unknown key \"max_trailing_logs\" in autopilot; known keys: "
                          "cleanup_dead_servers, dead_server_cleanup_after, server_stabilization_time, min_quorum",
                          "bad.yaml:10: dead_server_cleanup_after must be longer than zero",
                          HasSubstr("bad.yaml:11: server_stabilization_time: negative duration"),
                          "bad.yaml:12: cleanup_dead_servers must be true or false, got \"sometimes\""));

  errors.clear();
  parse_config_text("performance: {raft_multiplier: 11}\nbootstrap_expect: 1001\ncheck_update_interval: 5\n",
                    "big.yaml", errors);
  EXPECT_THAT(texts(errors), ElementsAre("big.yaml:1: raft_multiplier cannot be 11; it must be from 1 to 10",
                                         "big.yaml:2: bootstrap_expect 1001 is more than 1000 servers",
                                         HasSubstr("big.yaml:3: check_update_interval: ")));
  errors.clear();
  parse_config_text("autopilot: {min_quorum: -1}\n", "quorum.yaml", errors);
  parse_config_text("autopilot: {min_quorum: three}\n", "quorum.yaml", errors);
  EXPECT_THAT(texts(errors), ElementsAre("quorum.yaml:1: min_quorum cannot be -1; it must be from 0 to 1000",
                                         HasSubstr("quorum.yaml:1: min_quorum must be a whole number")));
  errors.clear();
  parse_config_text("performance: 5\nautopilot: [a]\n", "types.yaml", errors);
  EXPECT_THAT(texts(errors), ElementsAre("types.yaml:1: performance must be a map, got a scalar",
                                         "types.yaml:2: autopilot must be a map, got a list"));
}

TEST(ServerFlagsTest, ConsulSpellings) {
  Result<ParsedFlags> parsed =
      parse({"-server", "-server-port", "0", "-bootstrap-expect=3", "-rpc-hold-timeout", "1m30s"});
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  const AgentFlags flags = parsed->flags;
  EXPECT_EQ(flags.server_port, 0);
  EXPECT_EQ(flags.bootstrap_expect, 3);
  EXPECT_FALSE(flags.bootstrap.has_value());
  EXPECT_EQ(flags.rpc_hold_timeout, std::chrono::nanoseconds(90s));

  parsed = parse({"--bootstrap", "--server-port=8300"});
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->flags.bootstrap, true);
  EXPECT_EQ(parsed->flags.server_port, 8300);

  AgentConfig config;
  apply_flags(config, flags);
  EXPECT_EQ(config.server_port, 0);
  EXPECT_EQ(config.bootstrap_expect, 3);
  EXPECT_FALSE(config.bootstrap);
  EXPECT_EQ(config.rpc_hold_timeout, 90s);
}

TEST(ServerFlagsTest, BadValuesGiveClearErrors) {
  EXPECT_EQ(flag_error({"-server-port", "70000"}), "-server-port: \"70000\" is not a port number (0-65535)");
  EXPECT_EQ(flag_error({"-server-port", "x"}), "-server-port: \"x\" is not a port number (0-65535)");
  EXPECT_THAT(flag_error({"-bootstrap-expect", "-1"}),
              HasSubstr("-bootstrap-expect: \"-1\" is not a whole number >= 0"));
  EXPECT_THAT(flag_error({"-bootstrap-expect", "three"}), HasSubstr("-bootstrap-expect: \"three\" is not a whole number"));
  EXPECT_EQ(flag_error({"-bootstrap-expect", "5000"}), "-bootstrap-expect: 5000 is more than 1000 servers");
  EXPECT_EQ(flag_error({"-rpc-hold-timeout", "0s"}), "-rpc-hold-timeout: must be longer than zero");
  EXPECT_THAT(flag_error({"-rpc-hold-timeout", "7"}), HasSubstr("-rpc-hold-timeout: "));
}

TEST(ServerFlagsTest, FlagsOverrideTheFiles) {
  TempDir dir;
  LoadResult result = load(dir,
                           "server: true\ndata_dir: /var/lib/roster\nports: {server: 9300}\n"
                           "performance: {rpc_hold_timeout: 20s}\nbootstrap_expect: 5\n",
                           {"-server-port", "9301", "-rpc-hold-timeout", "3s", "-bootstrap-expect", "3"});
  ASSERT_THAT(texts(result.errors), IsEmpty());
  EXPECT_EQ(result.config.server_port, 9301);
  EXPECT_EQ(result.config.rpc_hold_timeout, 3s);
  EXPECT_EQ(result.config.bootstrap_expect, 3);
}

TEST(ServerFlagsTest, HelpExplainsEachFlag) {
  const std::string help = agent_help();
  EXPECT_THAT(help, HasSubstr("-server-port PORT"));
  EXPECT_THAT(help, HasSubstr("Default: 8300."));
  EXPECT_THAT(help, HasSubstr("-bootstrap-expect N"));
  EXPECT_THAT(help, HasSubstr("Servers to wait for before the first Raft election"));
  EXPECT_THAT(help, HasSubstr("-bootstrap "));
  EXPECT_THAT(help, HasSubstr("elect itself leader alone"));
  EXPECT_THAT(help, HasSubstr("-rpc-hold-timeout DURATION"));
  EXPECT_THAT(help, HasSubstr("Default: 7s."));
  // Every flag's description is wrapped, so every flag keeps two spaces before its description.
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  -", 0) == 0) {
      EXPECT_LE(line.size(), 100u) << line;
    }
  }
}

// Each rule, with the file and line of the key when a file set it.
TEST(BootstrapValidationTest, MutuallyExclusive) {
  TempDir dir;
  LoadResult result = load(dir, "server: true\ndata_dir: /d\nbootstrap: true\nbootstrap_expect: 3\n");
  EXPECT_THAT(texts(result.errors),
              ElementsAre(dir.path("agent.yaml") + ":4: bootstrap and bootstrap_expect are mutually exclusive: "
                                                   "bootstrap elects this server alone, bootstrap_expect 3 waits "
                                                   "for that many servers; keep one"));
  // The flag's -bootstrap against the file's bootstrap_expect: the file's line.
  result = load(dir, "server: true\ndata_dir: /d\nbootstrap_expect: 3\n", {"-bootstrap"});
  EXPECT_THAT(texts(result.errors), ElementsAre(HasSubstr(dir.path("agent.yaml") + ":3: bootstrap and "
                                                          "bootstrap_expect are mutually exclusive")));
  // Both from flags: no place to name.
  result = load(dir, "server: true\ndata_dir: /d\n", {"-bootstrap", "-bootstrap-expect", "3"});
  EXPECT_THAT(texts(result.errors),
              ElementsAre(::testing::StartsWith("bootstrap and bootstrap_expect are mutually exclusive")));
  // bootstrap: false with bootstrap_expect is fine.
  result = load(dir, "server: true\ndata_dir: /d\nbootstrap: false\nbootstrap_expect: 3\n");
  EXPECT_THAT(texts(result.errors), IsEmpty());
}

TEST(BootstrapValidationTest, RequiresServerMode) {
  TempDir dir;
  const std::string file = dir.path("agent.yaml");
  LoadResult result = load(dir, "data_dir: /d\nbootstrap_expect: 3\n");
  EXPECT_THAT(texts(result.errors),
              ElementsAre(file + ":2: bootstrap_expect requires server mode: set server: true or pass -server"));
  result = load(dir, "data_dir: /d\n\nbootstrap: true\n");
  EXPECT_THAT(texts(result.errors),
              ElementsAre(file + ":3: bootstrap requires server mode: set server: true or pass -server"));
  result = load(dir, "data_dir: /d\nserver: false\n", {"-bootstrap-expect", "3"});
  EXPECT_THAT(texts(result.errors), ElementsAre("bootstrap_expect requires server mode: set server: true or pass -server"));
  // -server on the command line satisfies a file's bootstrap_expect.
  result = load(dir, "data_dir: /d\nbootstrap_expect: 3\n", {"-server"});
  EXPECT_THAT(texts(result.errors), IsEmpty());
  EXPECT_TRUE(result.config.server);
}

TEST(BootstrapValidationTest, RefusedWithDev) {
  TempDir dir;
  const std::string file = dir.path("agent.yaml");
  LoadResult result = load(dir, "bootstrap_expect: 3\nbootstrap: true\n", {"-dev"});
  EXPECT_THAT(texts(result.errors),
              ElementsAre(HasSubstr(file + ":1: bootstrap and bootstrap_expect are mutually exclusive"),
                          file + ":1: bootstrap_expect is not allowed with -dev: a dev agent is always a single "
                                 "in-memory server",
                          file + ":2: bootstrap is not allowed with -dev: a dev agent is always a single in-memory "
                                 "server"));
  result = load(dir, "server: true\n", {"-dev", "-bootstrap"});
  EXPECT_THAT(texts(result.errors),
              ElementsAre("bootstrap is not allowed with -dev: a dev agent is always a single in-memory server"));
  result = load(dir, "bootstrap_expect: 0\nbootstrap: false\n", {"-dev"});
  EXPECT_THAT(texts(result.errors), IsEmpty());
}

TEST(BootstrapValidationTest, ExpectOneAndEvenCountsAreAccepted) {
  TempDir dir;
  for (int expect : {1, 2, 4}) {
    LoadResult result = load(dir, "server: true\ndata_dir: /d\nbootstrap_expect: " + std::to_string(expect) + "\n");
    EXPECT_THAT(texts(result.errors), IsEmpty()) << expect;
    EXPECT_EQ(result.config.bootstrap_expect, expect);  // 1 is kept as is, not turned into bootstrap
    EXPECT_FALSE(result.config.bootstrap);
    EXPECT_THAT(validate_paths({dir.path("agent.yaml")}), IsEmpty()) << expect;
  }
}

TEST(BootstrapValidationTest, ValidateChecksOnlyWhatTheFilesContradict) {
  TempDir dir;
  // -server may come from a flag, so validate does not require it (as it does not require data_dir).
  const std::string client = dir.write("client.yaml", "bootstrap_expect: 3\n");
  EXPECT_THAT(validate_paths({client}), IsEmpty());
  const std::string both = dir.write("both.yaml", "server: true\nbootstrap: true\nbootstrap_expect: 3\n");
  EXPECT_THAT(texts(validate_paths({both})),
              ElementsAre(HasSubstr(both + ":3: bootstrap and bootstrap_expect are mutually exclusive")));
  // Across files: the last file to set bootstrap_expect is named.
  dir.write("conf.d/10.yaml", "server: true\nbootstrap: true\n");
  const std::string later = dir.write("conf.d/20.yaml", "bootstrap_expect: 5\n");
  EXPECT_THAT(texts(validate_paths({dir.path("conf.d")})),
              ElementsAre(HasSubstr(later + ":1: bootstrap and bootstrap_expect are mutually exclusive")));
}

TEST(BootstrapValidationTest, AServerNeedsADataDir) {
  TempDir dir;
  LoadResult result = load(dir, "server: true\n");
  EXPECT_THAT(texts(result.errors),
              ElementsAre(HasSubstr("a server needs -data-dir: its Raft log lives there")));
  result = load(dir, "server: true\n", {"-dev"});
  EXPECT_THAT(texts(result.errors), IsEmpty());
  // A client is told only that data_dir is required.
  result = load(dir, "log_level: info\n");
  EXPECT_THAT(texts(result.errors), ElementsAre(HasSubstr("data_dir is required")));
  EXPECT_THAT(texts(result.errors), Not(Contains(HasSubstr("Raft"))));
}

}  // namespace
}  // namespace roster::config
