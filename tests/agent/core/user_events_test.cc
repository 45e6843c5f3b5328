// Consul's user-event rules as plain functions: validation, the node,
// service and tag filters, the index derived from an ID, and the bounded log.

#include "agent/core/user_events.h"

#include <gtest/gtest.h>

namespace roster::agent {
namespace {

UserEventInfo event(const std::string& node = "", const std::string& service = "", const std::string& tag = "") {
  UserEventInfo out;
  out.id = "b54fe110-7af5-cafc-d1fb-afc8ba432b1c";
  out.name = "deploy";
  out.node_filter = node;
  out.service_filter = service;
  out.tag_filter = tag;
  return out;
}

const std::vector<LocalServiceTags> kServices = {{"api-1", "api", {"v1", "primary"}}, {"db", "db", {}}};

TEST(UserEvents, ValidationFollowsConsul) {
  EXPECT_TRUE(validate_user_event(event("web-.*", "api", "v[0-9]")).is_ok());
  UserEventInfo nameless = event();
  nameless.name.clear();
  EXPECT_EQ(validate_user_event(nameless).message(), "User event missing name");
  EXPECT_EQ(validate_user_event(event("", "", "v1")).code(), StatusCode::invalid_argument);
  Status bad = validate_user_event(event("web-(", "", ""));
  EXPECT_EQ(bad.code(), StatusCode::invalid_argument);
  EXPECT_NE(bad.message().find("Invalid node filter"), std::string::npos) << bad.message();
}

TEST(UserEvents, FiltersMatchTheNodeItsServicesAndTheirTags) {
  EXPECT_TRUE(user_event_matches(event(), "web-7", kServices));
  EXPECT_TRUE(user_event_matches(event("web"), "web-7", kServices)) << "unanchored, as Go's MatchString";
  EXPECT_FALSE(user_event_matches(event("^db"), "web-7", kServices));
  EXPECT_TRUE(user_event_matches(event("", "^api$"), "web-7", kServices));
  EXPECT_TRUE(user_event_matches(event("", "api-1"), "web-7", kServices)) << "the service ID matches too";
  EXPECT_FALSE(user_event_matches(event("", "cache"), "web-7", kServices));
  EXPECT_TRUE(user_event_matches(event("", "api", "^prim"), "web-7", kServices));
  EXPECT_FALSE(user_event_matches(event("", "db", "v1"), "web-7", kServices)) << "the tag must be the service's";
  EXPECT_FALSE(user_event_matches(event("", "api"), "web-7", {}));
  UserEventInfo newer = event();
  newer.version = 2;
  EXPECT_FALSE(user_event_matches(newer, "web-7", kServices));
  EXPECT_FALSE(user_event_matches(event("(", ""), "web-7", kServices)) << "a bad expression from a peer";
}

TEST(UserEvents, APathologicalExpressionIsRefusedNotRun) {
  UserEventInfo costly = event("(a*)*(b+)*c$");
  EXPECT_FALSE(user_event_matches(costly, std::string(40, 'a') + "x", kServices));
}

TEST(UserEvents, TheIndexIsConsulsUuidToUint64) {
  EXPECT_EQ(user_event_index("b54fe110-7af5-cafc-d1fb-afc8ba432b1c"), 0x64b44ed8c0b6e1e0u);
  EXPECT_EQ(user_event_index("not-a-uuid"), 0u);
  EXPECT_EQ(user_event_index("b54fe110-7af5-cafc-d1fb-afc8ba432bzz"), 0u);
}

TEST(UserEvents, TheLogKeepsTheNewestInOrder) {
  UserEventLog log(3);
  for (int i = 0; i < 5; ++i) {
    UserEventInfo added = event();
    added.name = i % 2 == 0 ? "even" : "odd";
    added.ltime = static_cast<uint64_t>(i);
    log.add(added);
  }
  auto all = log.list("");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().ltime, 2u);
  EXPECT_EQ(all.back().ltime, 4u);
  auto even = log.list("even");
  ASSERT_EQ(even.size(), 2u);
  EXPECT_EQ(even[0].ltime, 2u);
  EXPECT_EQ(even[1].ltime, 4u);
}

}  // namespace
}  // namespace roster::agent
