// The `limits:` map: Consul's http_max_conns_per_client and the cap on
// responses held for clients that do not read them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/config_file.h"

namespace roster::config {
namespace {

using ::testing::HasSubstr;

TEST(LimitsConfigFileTest, KeysParse) {
  std::vector<ConfigError> errors;
  ConfigFragment fragment = parse_config_text(
      "limits:\n  http_max_conns_per_client: 50\n  http_max_unsent_response_bytes: 33554432\n", "limits.yaml", errors);
  ASSERT_TRUE(errors.empty()) << errors.front().to_string();
  EXPECT_EQ(fragment.http_max_conns_per_client, 50);
  EXPECT_EQ(fragment.http_max_unsent_response_bytes, 33554432u);
}

TEST(LimitsConfigFileTest, DefaultsAreConsuls) {
  AgentConfig config;
  EXPECT_EQ(config.limits.http_max_conns_per_client, 200);
  EXPECT_EQ(config.limits.http_max_unsent_response_bytes, 64u * 1024 * 1024);
}

TEST(LimitsConfigFileTest, ErrorsNameTheLine) {
  std::vector<ConfigError> errors;
  parse_config_text("limits:\n  http_max_conns_per_client: -1\n  http_max_unsent_response_bytes: 10\n  rpc_rate: 5\n",
                    "bad.yaml", errors);
  ASSERT_EQ(errors.size(), 3u);
  std::vector<std::string> text;
  for (const ConfigError& error : errors) text.push_back(error.to_string());
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:2: http_max_conns_per_client must be from 0")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:3: http_max_unsent_response_bytes must be at least")));
  EXPECT_THAT(text, ::testing::Contains(HasSubstr("bad.yaml:4: unknown key \"rpc_rate\" in limits")));
}

}  // namespace
}  // namespace roster::config
