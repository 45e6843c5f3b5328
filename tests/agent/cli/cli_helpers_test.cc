// The CLI's pure helpers: flag normalisation, address resolution, tables,
// URL escaping.

#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/cli/agent_address.h"
#include "agent/cli/flags.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"

namespace roster::cli {
namespace {

using Args = std::vector<std::string>;

TEST(NormaliseFlagsTest, RewritesSingleDashLongFlags) {
  EXPECT_EQ(normalise_flags({"-http-addr=1.2.3.4:8500", "-recurse", "-x", "key"}),
            (Args{"--http-addr=1.2.3.4:8500", "--recurse", "--x", "key"}));
}

TEST(NormaliseFlagsTest, LeavesValuesDoubleDashesAndHelpAlone) {
  EXPECT_EQ(normalise_flags({"--token", "t", "-", "-5", "-h", "-help", "--", "-literal"}),
            (Args{"--token", "t", "-", "-5", "--help", "--help", "--", "-literal"}));
}

EnvLookup fake_env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AgentAddressTest, FlagThenRosterThenConsulThenDefault) {
  auto both = fake_env({{"ROSTER_HTTP_ADDR", "10.0.0.1:8500"}, {"CONSUL_HTTP_ADDR", "10.0.0.2:8500"}});
  EXPECT_EQ(resolve_http_addr("127.0.1.5:9500", both), "http://127.0.1.5:9500");
  EXPECT_EQ(resolve_http_addr("", both), "http://10.0.0.1:8500");
  EXPECT_EQ(resolve_http_addr("", fake_env({{"CONSUL_HTTP_ADDR", "https://consul:8501/"}})), "https://consul:8501");
  EXPECT_EQ(resolve_http_addr("", fake_env({})), "http://127.0.0.1:8500");
}

TEST(AgentAddressTest, TokenFromFlagOrEnvironment) {
  EXPECT_EQ(resolve_token("flag", fake_env({{"ROSTER_HTTP_TOKEN", "env"}})), "flag");
  EXPECT_EQ(resolve_token("", fake_env({{"CONSUL_HTTP_TOKEN", "consul"}})), "consul");
  EXPECT_EQ(resolve_token("", fake_env({})), "");
}

TEST(TableTest, AlignsColumnsCountingCodePoints) {
  Table table({"Node", "Tags"});
  table.add_row({"nœud-1", "role=web"});
  table.add_row({"db", ""});
  std::ostringstream out;
  table.render(out);
  EXPECT_EQ(out.str(),
            "Node    Tags\n"
            "nœud-1  role=web\n"
            "db\n");
}

TEST(UrlEscapeTest, KeepsSlashesOnlyInPaths) {
  EXPECT_EQ(escape_path("app/db conn"), "app/db%20conn");
  EXPECT_EQ(escape_component("a/b:c"), "a%2Fb%3Ac");
}

}  // namespace
}  // namespace roster::cli
