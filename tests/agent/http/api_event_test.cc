// /v1/event/fire and /v1/event/list against a FakeMembership that delivers
// fired events back at once: Consul's shapes, the filters, the index derived
// from the last event's ID, blocking until a new event, and the errors.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/core/agent_core.h"
#include "tests/fakes/write_now.h"
#include "agent/core/user_events.h"
#include "agent/http/api.h"
#include "common/clock.h"
#include "common/uuid.h"
#include "tests/fakes/fake_membership.h"
#include "tests/agent/http/api_calls.h"

namespace roster::http {
namespace {

using nlohmann::json;

class ApiEventTest : public ::testing::Test {
 protected:
  ApiEventTest() : core_(io_, clock_, options()), membership_(core_.watch_hub()), api_(core_) {}

  static agent::CoreOptions options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "web-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core_.start().is_ok());
    core_.set_membership(&membership_);
  }
  void TearDown() override {
    core_.set_membership(nullptr);
    core_.stop();
  }

  HttpRequest request(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::make_request(method, target, body);
  }

  HttpResponse respond(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::respond_now(api_, method, target, body);
  }

  static std::string header(const HttpResponse& response, const std::string& name) {
    return api_calls::header_of(response, name);
  }

  agent::UserEventInfo from_pool(const std::string& name, uint64_t ltime) {
    agent::UserEventInfo event;
    event.id = generate_uuid_v4();
    event.name = name;
    event.ltime = ltime;
    return event;
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  fakes::FakeMembership membership_;
  Api api_;
};

TEST_F(ApiEventTest, FireAnswersWithConsulsEventObject) {
  HttpResponse response = respond("PUT", "/v1/event/fire/deploy?node=web-.*&service=api&tag=v1", "v2");
  ASSERT_EQ(response.status, 200) << response.body;
  json body = json::parse(response.body);
  EXPECT_TRUE(is_uuid(body["ID"].get<std::string>()));
  EXPECT_EQ(body["Name"], "deploy");
  EXPECT_EQ(body["Payload"], "djI=");
  EXPECT_EQ(body["NodeFilter"], "web-.*");
  EXPECT_EQ(body["ServiceFilter"], "api");
  EXPECT_EQ(body["TagFilter"], "v1");
  EXPECT_EQ(body["Version"], 1);
  EXPECT_EQ(body["LTime"], 0);
  ASSERT_EQ(membership_.fired.size(), 1u);
  EXPECT_EQ(membership_.fired[0].payload, "v2");
  EXPECT_EQ(membership_.fired[0].id, body["ID"]);
  // No payload: null, as Consul's []byte.
  EXPECT_TRUE(json::parse(respond("PUT", "/v1/event/fire/restart").body)["Payload"].is_null());
}

TEST_F(ApiEventTest, ListShowsTheEventsWhoseFiltersMatchThisNode) {
  local::ServiceDefinition api_service;
  api_service.id = api_service.name = "api";
  api_service.tags = {"v1"};
  ASSERT_TRUE(agent::testing::run_now([&](agent::StatusDone done) { core_.register_service(api_service, done); }).is_ok());
  ASSERT_EQ(respond("PUT", "/v1/event/fire/everyone").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/event/fire/web-nodes?node=^web-").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/event/fire/db-nodes?node=^db-").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/event/fire/api-v1?service=api&tag=v1").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/event/fire/api-v2?service=api&tag=v2").status, 200);
  membership_.deliver(from_pool("from-a-peer", 7));

  HttpResponse response = respond("GET", "/v1/event/list");
  ASSERT_EQ(response.status, 200);
  json body = json::parse(response.body);
  std::vector<std::string> names;
  for (const json& event : body) names.push_back(event["Name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"everyone", "web-nodes", "api-v1", "from-a-peer"}));
  EXPECT_EQ(body.back()["LTime"], 7);
  EXPECT_EQ(header(response, "X-Consul-Index"),
            std::to_string(agent::user_event_index(body.back()["ID"].get<std::string>())));
}

TEST_F(ApiEventTest, ListFiltersByName) {
  membership_.deliver(from_pool("deploy", 1));
  membership_.deliver(from_pool("restart", 2));
  membership_.deliver(from_pool("deploy", 3));
  json body = json::parse(respond("GET", "/v1/event/list?name=deploy").body);
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["LTime"], 1);
  EXPECT_EQ(body[1]["LTime"], 3);
  HttpResponse none = respond("GET", "/v1/event/list?name=nothing");
  EXPECT_EQ(none.body, "[]");
  EXPECT_EQ(header(none, "X-Consul-Index"), "1") << "Consul's 1 for no events";
}

TEST_F(ApiEventTest, ABlockingListWaitsForANewEvent) {
  membership_.deliver(from_pool("deploy", 1));
  HttpResponse first = respond("GET", "/v1/event/list");
  const std::string index = header(first, "X-Consul-Index");

  HttpRequest blocking_list = request("GET", "/v1/event/list?index=" + index + "&wait=30s");
  BlockingState blocking;
  HandleResult parked = api_.handle(blocking_list, blocking);
  ASSERT_TRUE(parked.wait.has_value());
  EXPECT_EQ(parked.wait->watch_keys, std::vector<std::string>{agent::kUserEventWatchKey});
  bool woke = false;
  core_.watch_hub().wait(parked.wait->watch_keys, [&] { woke = true; });
  membership_.deliver(from_pool("deploy", 2));
  EXPECT_TRUE(woke);
  HandleResult answered = api_.handle(blocking_list, blocking);
  ASSERT_FALSE(answered.wait.has_value());
  EXPECT_EQ(json::parse(answered.response.body).size(), 2u);
  EXPECT_NE(header(answered.response, "X-Consul-Index"), index);

  // The index is not monotonic: any other value answers at once.
  EXPECT_EQ(respond("GET", "/v1/event/list?index=5").status, 200);
  // Until the deadline, then the same list.
  BlockingState expired;
  HttpRequest again = request("GET", "/v1/event/list?index=" + header(answered.response, "X-Consul-Index"));
  ASSERT_TRUE(api_.handle(again, expired).wait.has_value());
  expired.expired = true;
  EXPECT_EQ(api_.handle(again, expired).response.status, 200);
}

TEST_F(ApiEventTest, TooLargeAndInvalidEventsAreRefused) {
  membership_.fire_error = Status::too_large("user event exceeds the limit of 512 bytes before encoding");
  HttpResponse large = respond("PUT", "/v1/event/fire/deploy", std::string(600, 'x'));
  EXPECT_EQ(large.status, 413);
  EXPECT_NE(large.body.find("Failed to fire event: user event exceeds the limit of 512 bytes"), std::string::npos)
      << large.body;
  membership_.fire_error = Status::ok();
  EXPECT_EQ(respond("PUT", "/v1/event/fire/deploy?tag=v1").status, 400);
  HttpResponse bad_regex = respond("PUT", "/v1/event/fire/deploy?node=web-(");
  EXPECT_EQ(bad_regex.status, 400);
  EXPECT_NE(bad_regex.body.find("Invalid node filter"), std::string::npos) << bad_regex.body;
  EXPECT_EQ(respond("PUT", "/v1/event/fire/").status, 400);
  EXPECT_EQ(respond("GET", "/v1/event/fire/deploy").status, 405);
  EXPECT_EQ(respond("GET", "/v1/event/list?index=abc").status, 400);
  EXPECT_TRUE(membership_.fired.empty());
  core_.set_membership(nullptr);
  EXPECT_EQ(respond("PUT", "/v1/event/fire/deploy").status, 503);
  core_.set_membership(&membership_);
}

}  // namespace
}  // namespace roster::http
