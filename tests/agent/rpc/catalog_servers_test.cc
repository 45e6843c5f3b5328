#include "agent/rpc/catalog_servers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace roster::rpc {
namespace {

agent::MemberInfo member(std::string name, bool server, std::string http, agent::MemberStatus status) {
  agent::MemberInfo info;
  info.name = std::move(name);
  info.server = server;
  info.http_address = std::move(http);
  info.status = status;
  return info;
}

TEST(CatalogServersTest, AliveServersWithAnAddressStartingAfterThisNode) {
  using agent::MemberStatus;
  const std::vector<agent::MemberInfo> members = {
      member("s3", true, "10.0.0.3:8500", MemberStatus::alive),
      member("s1", true, "10.0.0.1:8500", MemberStatus::alive),
      member("c1", false, "10.0.0.9:8500", MemberStatus::alive),
      member("s2", true, "10.0.0.2:8500", MemberStatus::alive),
      member("s4", true, "10.0.0.4:8500", MemberStatus::failed),
      member("s5", true, "", MemberStatus::alive),
  };
  EXPECT_THAT(server_http_addresses(members, "s1b"),
              ::testing::ElementsAre("10.0.0.2:8500", "10.0.0.3:8500", "10.0.0.1:8500"));
  EXPECT_THAT(server_http_addresses(members, "a"),
              ::testing::ElementsAre("10.0.0.1:8500", "10.0.0.2:8500", "10.0.0.3:8500"));
  EXPECT_TRUE(server_http_addresses({}, "a").empty());
}

}  // namespace
}  // namespace roster::rpc
