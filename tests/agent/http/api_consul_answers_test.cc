// Answers that Consul clients depend on, checked against what Consul itself
// says: the missing key name, query options parsed first, a session's TTL as
// sent, and the `consul` service that servers list.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "common/clock.h"

namespace roster::http {
namespace {

using nlohmann::json;

class ConsulAnswers : public ::testing::Test {
 protected:
  static agent::CoreOptions options(bool server) {
    agent::CoreOptions options;
    options.identity = {"4a1c2e3b-7d6f-4e8a-9b0c-1d2e3f4a5b6c", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500",
                        server};
    return options;
  }

  void SetUp() override { ASSERT_TRUE(core_.start().is_ok()); }
  void TearDown() override { core_.stop(); }

  HttpResponse respond(const std::string& method, const std::string& target, const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.headers["host"] = "127.0.0.1:8500";
    EXPECT_TRUE(parse_target(target, request.path, request.query)) << target;
    request.body = body;
    BlockingState blocking;
    HandleResult result = api_.handle(request, blocking);
    EXPECT_FALSE(result.wait.has_value()) << target << " blocked unexpectedly";
    return result.response;
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_{io_, clock_, options(true)};
  Api api_{core_};
};

TEST_F(ConsulAnswers, GetWithAnEmptyKeyIsMissingKeyName) {
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "1").body, "true");
  HttpResponse missing = respond("GET", "/v1/kv/");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, "Missing key name\n");  // as PUT and DELETE answer it
  // A listing of the whole store is still a read of the empty prefix.
  EXPECT_EQ(respond("GET", "/v1/kv/?recurse").status, 200);
  EXPECT_EQ(respond("GET", "/v1/kv/?keys").status, 200);
}

// Consul parses wait and index before reading anything, so a malformed one is
// a 400 even when the index has already been passed and the read would answer at once.
TEST_F(ConsulAnswers, QueryOptionsAreValidatedBeforeTheRead) {
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "1").body, "true");
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=1&wait=forever").status, 400);
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=one").status, 400);
  EXPECT_EQ(respond("GET", "/v1/catalog/nodes?index=1&wait=5").status, 400);
  EXPECT_EQ(respond("GET", "/v1/agent/self?wait=soon").status, 400);
  // Empty values are ignored, as in Consul.
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=&wait=").status, 200);
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=1&wait=1s").status, 200);
}

TEST_F(ConsulAnswers, ASessionsTtlComesBackAsItWasSent) {
  HttpResponse created = respond("PUT", "/v1/session/create", R"({"TTL": "90s"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = json::parse(created.body)["ID"];
  json info = json::parse(respond("GET", "/v1/session/info/" + id).body);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]["TTL"], "90s");
  json renewed = json::parse(respond("PUT", "/v1/session/renew/" + id).body);
  EXPECT_EQ(renewed[0]["TTL"], "90s");
  // A session without a TTL shows an empty one.
  HttpResponse plain = respond("PUT", "/v1/session/create", "{}");
  const std::string plain_id = json::parse(plain.body)["ID"];
  EXPECT_EQ(json::parse(respond("GET", "/v1/session/info/" + plain_id).body)[0]["TTL"], "");
}

TEST_F(ConsulAnswers, AServerListsTheConsulService) {
  json services = json::parse(respond("GET", "/v1/catalog/services").body);
  ASSERT_TRUE(services.contains("consul")) << services.dump();
  json instances = json::parse(respond("GET", "/v1/catalog/service/consul").body);
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0]["Node"], "node-1");
  EXPECT_EQ(instances[0]["ServicePort"], 8300);
  // It is the catalog's, not one of the agent's own services, as in Consul.
  EXPECT_FALSE(json::parse(respond("GET", "/v1/agent/services").body).contains("consul"));
  // Anti-entropy keeps it.
  ASSERT_TRUE(core_.sync_to_catalog().is_ok());
  EXPECT_TRUE(json::parse(respond("GET", "/v1/catalog/services").body).contains("consul"));
}

TEST(ConsulAnswersOnAClient, AClientAgentDoesNotListTheConsulService) {
  boost::asio::io_context io;
  SystemClock clock;
  agent::CoreOptions options;
  options.identity = {"5b2d3f4c-8e7a-4f9b-8c1d-2e3f4a5b6c7d", "client-1", "dc1", "127.0.0.1", "127.0.0.1:8500", false};
  agent::AgentCore core(io, clock, options);
  ASSERT_TRUE(core.start().is_ok());
  EXPECT_TRUE(core.store().node_services("client-1").value.empty());
  core.stop();
}

}  // namespace
}  // namespace roster::http
