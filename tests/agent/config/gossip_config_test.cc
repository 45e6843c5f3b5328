// The gossip flags and YAML keys: -serf-lan-port, -join, -retry-join,
// -retry-interval, -retry-max, -encrypt, and the gossip: timing map.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/config_file.h"
#include "agent/config/flags.h"

namespace roster::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kKey = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";

Result<ParsedFlags> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "agent");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return parse_agent_flags(static_cast<int>(argv.size()), argv.data());
}

TEST(GossipFlagsTest, ConsulSpellings) {
  auto parsed = parse({"-serf-lan-port", "0", "-join", "10.0.0.1", "-join=10.0.0.2:8301", "-retry-join",
                       "web-1:8301", "-retry-interval", "5s", "-retry-max", "3", "-encrypt", kKey});
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  const AgentFlags& flags = parsed->flags;
  EXPECT_EQ(flags.serf_lan_port, 0);
  EXPECT_THAT(flags.join, ElementsAre("10.0.0.1", "10.0.0.2:8301"));
  EXPECT_THAT(flags.retry_join, ElementsAre("web-1:8301"));
  EXPECT_EQ(flags.retry_interval, std::chrono::nanoseconds(5s));
  EXPECT_EQ(flags.retry_max, 3);
  EXPECT_EQ(flags.encrypt, kKey);

  AgentConfig config;
  config.start_join = {"10.0.0.9"};
  apply_flags(config, flags);
  EXPECT_EQ(config.serf_lan_port, 0);
  EXPECT_THAT(config.start_join, ElementsAre("10.0.0.9", "10.0.0.1", "10.0.0.2:8301"));
  EXPECT_EQ(config.encrypt, kKey);
}

TEST(GossipFlagsTest, BadValuesGiveClearErrors) {
  auto error = [](std::vector<std::string> args) {
    auto parsed = parse(std::move(args));
    EXPECT_FALSE(parsed.is_ok());
    return parsed.is_ok() ? std::string() : parsed.status().message();
  };
  EXPECT_THAT(error({"-serf-lan-port", "70000"}), HasSubstr("-serf-lan-port"));
  EXPECT_THAT(error({"-encrypt", "c2hvcnQ="}), HasSubstr("must be 32"));
  EXPECT_THAT(error({"-encrypt", "not base64!"}), HasSubstr("roster keygen"));
  EXPECT_THAT(error({"-retry-max", "-1"}), HasSubstr("-retry-max"));
  EXPECT_THAT(error({"-retry-interval", "soon"}), HasSubstr("-retry-interval"));
}

TEST(GossipFlagsTest, HelpListsTheGossipFlags) {
  std::string help = agent_help();
  for (const char* flag : {"-serf-lan-port", "-join", "-retry-join", "-retry-interval", "-retry-max", "-encrypt"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
}

TEST(GossipConfigFileTest, KeysParse) {
  std::vector<ConfigError> errors;
  ConfigFragment fragment = parse_config_text(std::string(R"(
ports:
  serf_lan: 7301
start_join: ["10.0.0.1"]
retry_join: ["10.0.0.2", "10.0.0.3"]
retry_interval: 10s
retry_max: 4
encrypt: )") + kKey + R"(
leave_on_terminate: true
skip_leave_on_interrupt: true
gossip:
  profile: local
  probe_interval: 500ms
  probe_timeout: 200ms
  gossip_interval: 100ms
  push_pull_interval: 10s
  suspicion_mult: 3
  retransmit_mult: 2
  max_members: 5000
)",
                                              "gossip.yaml", errors);
  ASSERT_TRUE(errors.empty()) << errors.front().to_string();
  EXPECT_EQ(fragment.serf_lan_port, 7301);
  EXPECT_THAT(fragment.start_join, ElementsAre("10.0.0.1"));
  EXPECT_THAT(fragment.retry_join, ElementsAre("10.0.0.2", "10.0.0.3"));
  EXPECT_EQ(fragment.retry_interval, std::chrono::nanoseconds(10s));
  EXPECT_EQ(fragment.retry_max, 4);
  EXPECT_EQ(fragment.encrypt, kKey);
  EXPECT_EQ(fragment.leave_on_terminate, true);
  EXPECT_EQ(fragment.skip_leave_on_interrupt, true);
  EXPECT_EQ(fragment.gossip_profile, "local");
  EXPECT_EQ(fragment.gossip.probe_interval, std::chrono::nanoseconds(500ms));
  EXPECT_EQ(fragment.gossip.probe_timeout, std::chrono::nanoseconds(200ms));
  EXPECT_EQ(fragment.gossip.gossip_interval, std::chrono::nanoseconds(100ms));
  EXPECT_EQ(fragment.gossip.push_pull_interval, std::chrono::nanoseconds(10s));
  EXPECT_EQ(fragment.gossip.suspicion_mult, 3);
  EXPECT_EQ(fragment.gossip.retransmit_mult, 2);
  EXPECT_EQ(fragment.gossip.max_members, 5000);
}

TEST(GossipConfigFileTest, ErrorsNameTheLine) {
  std::vector<ConfigError> errors;
  parse_config_text("gossip:\n  profile: wan\n  probe_interval: fast\n  suspicion_mult: 0\n  bogus: 1\n"
                    "  max_members: 3\nencrypt: short\nretry_max: -2\n",
                    "bad.yaml", errors);
  ASSERT_EQ(errors.size(), 7u);
  std::vector<std::string> text;
  for (const ConfigError& error : errors) text.push_back(error.to_string());
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:2: gossip profile \"wan\"")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:3: probe_interval")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:4: suspicion_mult must be from 1 to 100")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:5: unknown key \"bogus\" in gossip")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:7: encrypt:")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:8: retry_max")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:6: max_members must be from 16 to 100000")));
}

}  // namespace
}  // namespace roster::config
