#include "agent/config/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/config_file.h"
#include "agent/config/defaults.h"
#include "tests/agent/config/temp_dir.h"

namespace roster::config {
namespace {

using testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

Result<ParsedFlags> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "agent");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return parse_agent_flags(static_cast<int>(argv.size()), argv.data());
}

AgentFlags parse_ok(std::vector<std::string> args) {
  Result<ParsedFlags> parsed = parse(std::move(args));
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  if (!parsed.is_ok()) return {};
  EXPECT_FALSE(parsed->help_text.has_value());
  return parsed->flags;
}

std::string parse_error(std::vector<std::string> args) {
  Result<ParsedFlags> parsed = parse(std::move(args));
  EXPECT_FALSE(parsed.is_ok());
  if (parsed.is_ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::invalid_argument);
  return parsed.status().message();
}

std::string describe(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& error : errors) out += error.to_string() + "\n";
  return out;
}

TEST(AgentFlagsTest, NoFlagsSetsNothing) {
  AgentFlags flags = parse_ok({});
  EXPECT_EQ(flags, AgentFlags{});
}

TEST(AgentFlagsTest, SingleDashConsulSpellings) {
  AgentFlags flags = parse_ok({"-dev", "-node", "web-7", "-datacenter=EU1", "-data-dir", "/var/lib/roster",
                               "-bind=10.0.0.7", "-advertise", "192.168.0.7", "-client", "0.0.0.0", "-http-port=8600",
                               "-config-file", "a.yaml", "-config-file=b.yaml", "-config-dir", "/etc/roster.d",
                               "-log-level", "DEBUG", "-enable-script-checks", "-tag", "role=web", "-tag=env=a=b"});
  EXPECT_TRUE(flags.dev);
  EXPECT_EQ(flags.node_name, "web-7");
  EXPECT_EQ(flags.datacenter, "eu1");
  EXPECT_EQ(flags.data_dir, "/var/lib/roster");
  EXPECT_EQ(flags.bind_addr, "10.0.0.7");
  EXPECT_EQ(flags.advertise_addr, "192.168.0.7");
  EXPECT_EQ(flags.client_addr, "0.0.0.0");
  EXPECT_EQ(flags.http_port, 8600);
  EXPECT_THAT(flags.config_files, ElementsAre("a.yaml", "b.yaml"));
  EXPECT_THAT(flags.config_dirs, ElementsAre("/etc/roster.d"));
  EXPECT_EQ(flags.log_level, "debug");
  EXPECT_EQ(flags.enable_script_checks, true);
  EXPECT_EQ(flags.tags, (std::map<std::string, std::string>{{"role", "web"}, {"env", "a=b"}}));
}

TEST(AgentFlagsTest, DoubleDashSpellingsToo) {
  AgentFlags flags = parse_ok({"--node=db-1", "--http-port", "0", "--config-dir", "d1", "--config-dir=d2",
                               "--enable-script-checks=false", "--tag", "role=db"});
  EXPECT_EQ(flags.node_name, "db-1");
  EXPECT_EQ(flags.http_port, 0);
  EXPECT_THAT(flags.config_dirs, ElementsAre("d1", "d2"));
  EXPECT_EQ(flags.enable_script_checks, false);
  EXPECT_FALSE(flags.dev);
  EXPECT_EQ(flags.tags.at("role"), "db");
  EXPECT_FALSE(flags.datacenter.has_value());
}

TEST(AgentFlagsTest, HelpReturnsUsageInsteadOfFlags) {
  for (const char* spelling : {"-help", "--help", "-h"}) {
    Result<ParsedFlags> parsed = parse({"-node", "x", spelling});
    ASSERT_TRUE(parsed.is_ok()) << spelling;
    ASSERT_TRUE(parsed->help_text.has_value()) << spelling;
    EXPECT_EQ(*parsed->help_text, agent_help());
  }
  const std::string help = agent_help();
  for (const char* flag : {"-dev", "-node", "-datacenter", "-data-dir", "-bind", "-advertise", "-client",
                           "-http-port", "-config-file", "-config-dir", "-log-level", "-enable-script-checks",
                           "-tag"}) {
    EXPECT_THAT(help, HasSubstr(std::string("  ") + flag + " ")) << flag;
  }
  EXPECT_THAT(help, Not(HasSubstr(" --node")));
  EXPECT_THAT(help, HasSubstr("Default: 8500"));
  EXPECT_THAT(help, HasSubstr("Default: dc1"));
  EXPECT_THAT(help, HasSubstr("Required unless -dev"));
  EXPECT_THAT(help, HasSubstr("docs/CONFIG.md"));
}

TEST(AgentFlagsTest, BadFlagsGiveClearErrors) {
  EXPECT_THAT(parse_error({"-nodes", "x"}), HasSubstr("unknown flag or argument: -nodes"));
  EXPECT_THAT(parse_error({"stray"}), HasSubstr("unknown flag or argument: stray"));
  EXPECT_THAT(parse_error({"-node"}), HasSubstr("-node needs a value (NAME)"));
  EXPECT_THAT(parse_error({"-http-port", "eighty"}), HasSubstr("-http-port: \"eighty\" is not a port number"));
  EXPECT_THAT(parse_error({"-http-port=65536"}), HasSubstr("-http-port: \"65536\" is not a port number (0-65535)"));
  EXPECT_THAT(parse_error({"-bind", "localhost"}), HasSubstr("-bind: \"localhost\" is not an IP address"));
  EXPECT_THAT(parse_error({"-log-level", "chatty"}), HasSubstr("-log-level: log level \"chatty\""));
  EXPECT_THAT(parse_error({"-tag", "role"}), HasSubstr("-tag: \"role\" is not key=value"));
  EXPECT_THAT(parse_error({"-tag", "=web"}), HasSubstr("tag key is empty"));
  EXPECT_THAT(parse_error({"-tag", "role="}), HasSubstr("empty value"));
  EXPECT_THAT(parse_error({"-tag", "role=" + std::string(513, 'x')}), HasSubstr("the limit is 512"));
  EXPECT_THAT(parse_error({"-datacenter", "eu west"}), HasSubstr("-datacenter:"));
  EXPECT_THAT(parse_error({"-node", ""}), HasSubstr("-node: node name is empty"));
  EXPECT_THAT(parse_error({"-config-file", "a", "b"}), HasSubstr("unknown flag or argument: b"));
}

TEST(AgentFlagsTest, FlagsOverrideConfigFiles) {
  TempDir dir;
  std::string file = dir.write("agent.yaml", R"(
node_name: from-file
datacenter: dc1
data_dir: /from/file
bind_addr: 10.1.1.1
client_addr: 127.0.0.1
ports: {http: 8501}
log_level: info
enable_script_checks: true
tags: {role: web, env: qa}
services: [{name: web}]
)");
  dir.write("conf.d/10.yaml", "tags: {zone: b}\n");
  AgentFlags flags = parse_ok({"-config-file", file, "-config-dir", dir.path("conf.d"), "-node", "from-flag",
                               "-data-dir", dir.path("data"), "-http-port", "9000", "-client", "0.0.0.0",
                               "-enable-script-checks=false", "-log-level", "trace", "-tag", "env=prod"});
  LoadResult result = load_agent_config(flags, HostInfo{"host-1", {}});
  ASSERT_TRUE(result.ok()) << describe(result.errors);
  const AgentConfig& config = result.config;
  EXPECT_EQ(config.node_name, "from-flag");
  EXPECT_EQ(config.datacenter, "dc1");
  EXPECT_EQ(config.data_dir, dir.path("data"));
  EXPECT_EQ(config.bind_addr, "10.1.1.1");
  EXPECT_EQ(config.advertise_addr, "10.1.1.1");  // follows bind_addr
  EXPECT_EQ(config.client_addr, "0.0.0.0");
  EXPECT_EQ(config.http_port, 9000);
  EXPECT_EQ(config.log_level, "trace");
  EXPECT_FALSE(config.enable_script_checks);
  EXPECT_EQ(config.tags, (std::map<std::string, std::string>{{"role", "web"}, {"env", "prod"}, {"zone", "b"}}));
  EXPECT_EQ(config.services.size(), 1u);
  EXPECT_THAT(config.config_files, ElementsAre(file, dir.path("conf.d/10.yaml")));

  // Reloading (SIGHUP) goes through the same path, so flags still win.
  dir.write("agent.yaml", "node_name: renamed\ndata_dir: /x\nbind_addr: 10.1.1.1\ntags: {env: staging, new: 1}\n");
  LoadResult reloaded = load_agent_config(flags, HostInfo{"host-1", {}});
  ASSERT_TRUE(reloaded.ok()) << describe(reloaded.errors);
  EXPECT_EQ(reloaded.config.node_name, "from-flag");
  EXPECT_EQ(reloaded.config.tags, (std::map<std::string, std::string>{{"env", "prod"}, {"new", "1"}, {"zone", "b"}}));
  EXPECT_TRUE(reloaded.config.services.empty());
}

TEST(AgentFlagsTest, ConfigErrorsComeThroughLoadAgentConfig) {
  TempDir dir;
  std::string file = dir.write("bad.yaml", "datacenter: dc1\nports: {http: x}\n");
  LoadResult result = load_agent_config(parse_ok({"-dev", "-config-file", file}), HostInfo{"h", {}});
  ASSERT_EQ(result.errors.size(), 1u) << describe(result.errors);
  EXPECT_EQ(result.errors[0].to_string(), file + ":2: http must be a whole number, got \"x\"");
}

TEST(AgentFlagsTest, ScriptChecksNeedToBeEnabled) {
  TempDir dir;
  std::string file = dir.write("checks.yaml", R"(
services:
  - name: web
    check: {args: [/bin/true]}
checks:
  - {id: disk, args: [/bin/df]}
  - {id: ping, ttl: 5s}
)");
  LoadResult off = load_agent_config(parse_ok({"-dev", "-config-file", file}), HostInfo{"h", {}});
  ASSERT_EQ(off.errors.size(), 2u) << describe(off.errors);
  EXPECT_THAT(off.errors[0].message, HasSubstr("check \"service:web\" runs a program (args), but script checks are off"));
  EXPECT_THAT(off.errors[1].message, HasSubstr("check \"disk\""));
  LoadResult on = load_agent_config(parse_ok({"-dev", "-config-file", file, "-enable-script-checks"}), HostInfo{"h", {}});
  EXPECT_TRUE(on.ok()) << describe(on.errors);
}

TEST(AgentDefaultsTest, NodeNameAndAdvertiseAddress) {
  AgentConfig config;
  config.data_dir = "/data";
  EXPECT_THAT(apply_defaults(config, HostInfo{"web-7", {"10.0.0.5"}}), IsEmpty());
  EXPECT_EQ(config.node_name, "web-7");
  EXPECT_EQ(config.bind_addr, "0.0.0.0");
  EXPECT_EQ(config.advertise_addr, "10.0.0.5");

  AgentConfig dev;
  dev.dev = true;
  EXPECT_THAT(apply_defaults(dev, HostInfo{"laptop", {"10.0.0.5", "192.168.1.2"}}), IsEmpty());
  EXPECT_EQ(dev.bind_addr, "127.0.0.1");  // as Consul's -dev: gossip stays on loopback
  EXPECT_EQ(dev.advertise_addr, "127.0.0.1");
  EXPECT_EQ(dev.data_dir, "");  // without -data-dir a dev agent keeps nothing on disk

  AgentConfig dev_any;
  dev_any.dev = true;
  dev_any.bind_addr = "0.0.0.0";  // an explicit -bind wins over the dev default
  EXPECT_THAT(apply_defaults(dev_any, HostInfo{"laptop", {}}), IsEmpty());
  EXPECT_EQ(dev_any.bind_addr, "0.0.0.0");
  EXPECT_EQ(dev_any.advertise_addr, "127.0.0.1");

  AgentConfig explicit_addresses;
  explicit_addresses.data_dir = "/data";
  explicit_addresses.node_name = "named";
  explicit_addresses.bind_addr = "127.0.1.3";
  EXPECT_THAT(apply_defaults(explicit_addresses, HostInfo{"", {}}), IsEmpty());
  EXPECT_EQ(explicit_addresses.node_name, "named");
  EXPECT_EQ(explicit_addresses.advertise_addr, "127.0.1.3");
}

TEST(AgentDefaultsTest, ProblemsAreReported) {
  AgentConfig config;
  auto errors = apply_defaults(config, HostInfo{"", {"10.0.0.5", "172.16.0.9"}});
  ASSERT_EQ(errors.size(), 3u) << describe(errors);
  EXPECT_THAT(errors[0].message, HasSubstr("set node_name in a config file or pass -node"));
  EXPECT_THAT(errors[1].message, HasSubstr("several private IPv4 addresses found (10.0.0.5, 172.16.0.9)"));
  EXPECT_THAT(errors[2].message, HasSubstr("data_dir is required"));

  AgentConfig no_private;
  no_private.data_dir = "/d";
  errors = apply_defaults(no_private, HostInfo{"h", {}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("no private IPv4 address found"));
}

TEST(HostInfoTest, PrivateRanges) {
  EXPECT_TRUE(is_private_ipv4("10.1.2.3"));
  EXPECT_TRUE(is_private_ipv4("172.31.255.1"));
  EXPECT_FALSE(is_private_ipv4("172.32.0.1"));
  EXPECT_TRUE(is_private_ipv4("192.168.0.1"));
  EXPECT_TRUE(is_private_ipv4("100.64.0.1"));
  EXPECT_FALSE(is_private_ipv4("8.8.8.8"));
  EXPECT_FALSE(is_private_ipv4("127.0.0.1"));
  EXPECT_FALSE(is_private_ipv4("not an address"));
  HostInfo host = read_host_info();
  EXPECT_FALSE(host.hostname.empty());
  for (const std::string& address : host.private_ipv4) EXPECT_TRUE(is_private_ipv4(address)) << address;
}

}  // namespace
}  // namespace roster::config

namespace roster::config {
namespace {

// A client agent unless -server (or `server: true`) says otherwise; -dev is a
// server whatever the flag says (agent_main makes identity.server dev || server).
TEST(AgentFlagsTest, ServerIsOffUnlessAsked) {
  EXPECT_FALSE(parse_ok({}).server.has_value());
  AgentFlags flags = parse_ok({"-server"});
  EXPECT_EQ(flags.server, true);
  AgentConfig config;
  apply_flags(config, flags);
  EXPECT_TRUE(config.server);

  std::vector<ConfigError> errors;
  ConfigFragment fragment = parse_config_text("server: true\n", "server.yaml", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(fragment.server, true);
  parse_config_text("server: sometimes\n", "bad.yaml", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].to_string().find("bad.yaml:1"), std::string::npos) << errors[0].to_string();
}

}  // namespace
}  // namespace roster::config
