// The HTTP API as a function: requests in, responses (or waits) out, against a
// real AgentCore in -dev mode. No sockets.

#include "tests/fakes/write_now.h"
#include "agent/http/api.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/core/agent_core.h"
#include "agent/leader/session_timers.h"
#include "common/clock.h"
#include "tests/agent/http/api_calls.h"
#include "tests/fakes/deferred_catalog.h"

namespace roster::http {
namespace {

using nlohmann::json;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : core_(io_, clock_, options()), session_timers_(io_, core_.catalog()), api_(core_, api_options()) {}

  // As the agent wires it: this -dev core leads, so it runs session TTLs.
  ApiOptions api_options() {
    ApiOptions api_options;
    api_options.renew_session = [this](const std::string& id) { return session_timers_.renew(id); };
    return api_options;
  }

  static agent::CoreOptions options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    options.image_tags = {{"role", "base"}};
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core_.start().is_ok());
    session_timers_.start();
  }
  void TearDown() override {
    session_timers_.stop();
    core_.stop();
  }

  HandleResult call(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::call_api(api_, method, target, body);
  }

  HttpResponse respond(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::respond_now(api_, method, target, body);
  }

  static std::string header(const HttpResponse& response, const std::string& name) {
    return api_calls::header_of(response, name);
  }

  // Registers a waiter for the wait's keys and reports whether it fired.
  std::shared_ptr<bool> watch(const BlockingWait& wait) {
    auto fired = std::make_shared<bool>(false);
    core_.watch_hub().wait(wait.watch_keys, [fired] { *fired = true; });
    return fired;
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  agent::SessionTimers session_timers_;
  Api api_;
};

TEST_F(ApiTest, KvPutGetDeleteRoundTrip) {
  EXPECT_EQ(respond("PUT", "/v1/kv/app/config?flags=42", "hello").body, "true");
  HttpResponse got = respond("GET", "/v1/kv/app/config");
  ASSERT_EQ(got.status, 200);
  json body = json::parse(got.body);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["Key"], "app/config");
  EXPECT_EQ(body[0]["Value"], "aGVsbG8=");
  EXPECT_EQ(body[0]["Flags"], 42);
  EXPECT_EQ(header(got, "X-Consul-Index"), std::to_string(body[0]["ModifyIndex"].get<uint64_t>()));
  EXPECT_EQ(header(got, "X-Consul-KnownLeader"), "true");
  EXPECT_EQ(respond("GET", "/v1/kv/app/config?raw").body, "hello");
  EXPECT_EQ(respond("DELETE", "/v1/kv/app/config").body, "true");
  HttpResponse missing = respond("GET", "/v1/kv/app/config");
  EXPECT_EQ(missing.status, 404);
  EXPECT_GE(std::stoull(header(missing, "X-Consul-Index")), 1u);
  EXPECT_EQ(header(missing, "X-Consul-KnownLeader"), "true");
  EXPECT_EQ(header(missing, "X-Consul-LastContact"), "0");
}

TEST_F(ApiTest, KvCasAnswersTrueOrFalse) {
  EXPECT_EQ(respond("PUT", "/v1/kv/lock?cas=0", "first").body, "true");
  EXPECT_EQ(respond("PUT", "/v1/kv/lock?cas=0", "second").body, "false");
  auto index = json::parse(respond("GET", "/v1/kv/lock").body)[0]["ModifyIndex"].get<uint64_t>();
  EXPECT_EQ(respond("PUT", "/v1/kv/lock?cas=" + std::to_string(index + 100), "third").body, "false");
  EXPECT_EQ(respond("PUT", "/v1/kv/lock?cas=" + std::to_string(index), "third").body, "true");
  EXPECT_EQ(respond("GET", "/v1/kv/lock?raw").body, "third");
  EXPECT_EQ(respond("DELETE", "/v1/kv/lock?cas=1").body, "false");
}

TEST_F(ApiTest, KvRecurseKeysAndSeparator) {
  for (const char* key : {"web/a", "web/b/c", "web/b/d", "db/x"}) {
    ASSERT_EQ(respond("PUT", std::string("/v1/kv/") + key, "v").body, "true");
  }
  for (const char* flag : {"recurse", "recurse=1", "recurse=true"}) {
    json listed = json::parse(respond("GET", std::string("/v1/kv/web/?") + flag).body);
    EXPECT_EQ(listed.size(), 3u) << flag;
  }
  EXPECT_EQ(json::parse(respond("GET", "/v1/kv/?keys").body),
            json::parse(R"(["db/x","web/a","web/b/c","web/b/d"])"));
  EXPECT_EQ(json::parse(respond("GET", "/v1/kv/web/?keys&separator=/").body),
            json::parse(R"(["web/a","web/b/"])"));
  EXPECT_EQ(respond("DELETE", "/v1/kv/web/?recurse").body, "true");
  EXPECT_EQ(respond("GET", "/v1/kv/web/?recurse").status, 404);
  EXPECT_EQ(respond("GET", "/v1/kv/db/x").status, 200);
}

TEST_F(ApiTest, BadInputGetsA4xxAndChangesNothing) {
  catalog::Index before = core_.store().last_index();
  EXPECT_EQ(respond("PUT", "/v1/kv/big", std::string(512 * 1024 + 1, 'x')).status, 413);
  EXPECT_EQ(respond("PUT", "/v1/kv/k?flags=abc", "v").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/kv/k?cas=-1", "v").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/kv/bad%01key", "v").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/kv/bad%FFkey", "v").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/kv/" + std::string(4096, 'k'), "v").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/kv/k?acquire=s1&cas=0", "v").status, 400);
  EXPECT_EQ(respond("GET", "/v1/kv/k?index=1&wait=forever").status, 400);
  EXPECT_EQ(respond("GET", "/v1/kv/k?index=notanumber").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/catalog/register", "{not json").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/catalog/register", "[1,2]").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/catalog/register", R"({"Node": 5})").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": "eighty"})").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/agent/check/register", R"({"Name": "c", "TTL": "soon"})").status, 400);
  EXPECT_EQ(respond("PUT", "/v1/session/create", R"({"TTL": "1s"})").status, 400);
  EXPECT_EQ(respond("GET", "/v1/health/state/sideways").status, 400);
  EXPECT_EQ(respond("GET", "/v1/catalog/nodes?node-meta=nocolon").status, 400);
  EXPECT_EQ(core_.store().last_index(), before);
  EXPECT_EQ(respond("GET", "/v1/kv/k").status, 404);
}

TEST_F(ApiTest, EveryReadCarriesIndexHeaders) {
  for (const char* target : {"/v1/agent/self", "/v1/agent/services", "/v1/agent/checks", "/v1/agent/members",
                             "/v1/status/leader", "/v1/status/peers", "/v1/catalog/datacenters",
                             "/v1/catalog/nodes", "/v1/kv/missing", "/v1/health/state/bogus",
                             "/v1/session/info/none", "/v1/roster/node/ghost/tags"}) {
    HttpResponse response = respond("GET", target);
    EXPECT_GE(std::stoull(header(response, "X-Consul-Index").empty() ? "0" : header(response, "X-Consul-Index")), 1u)
        << target;
    EXPECT_EQ(header(response, "X-Consul-KnownLeader"), "true") << target;
    EXPECT_EQ(header(response, "X-Consul-LastContact"), "0") << target;
  }
}

TEST_F(ApiTest, TokensAreAcceptedInHeaderAndQuery) {
  HttpRequest request;
  request.headers["host"] = "127.0.0.1:8500";
  request.method = "PUT";
  ASSERT_TRUE(parse_target("/v1/kv/with-token?token=secret", request.path, request.query));
  request.headers["x-consul-token"] = "secret";
  request.body = "v";
  BlockingState blocking;
  EXPECT_EQ(api_.handle(request, blocking).response.body, "true");
  EXPECT_EQ(respond("GET", "/v1/kv/with-token?raw&token=secret").body, "v");
}

// Go's server answers an HTTP/1.1 request without Host with a 400 before
// Consul sees it; HTTP/1.0 needs no Host, and an empty one is allowed.
TEST_F(ApiTest, Http11RequestWithoutHostIsRefused) {
  HttpRequest request;
  request.method = "PUT";
  ASSERT_TRUE(parse_target("/v1/kv/no-host", request.path, request.query));
  request.body = "v";
  BlockingState blocking;
  HttpResponse refused = api_.handle(request, blocking).response;
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("Host"), std::string::npos) << refused.body;
  EXPECT_EQ(respond("GET", "/v1/kv/no-host").status, 404);  // the write did not happen

  request.version = 10;
  EXPECT_EQ(api_.handle(request, blocking).response.body, "true");
  request.version = 11;
  request.headers["host"] = "";
  request.body = "w";
  EXPECT_EQ(api_.handle(request, blocking).response.body, "true");
  EXPECT_EQ(respond("GET", "/v1/kv/no-host?raw").body, "w");
}

// Go's time.ParseDuration, which Consul applies to ?wait=, wants a unit.
TEST_F(ApiTest, WaitWithoutAUnitIsA400) {
  ASSERT_EQ(respond("PUT", "/v1/kv/wait-unit", "v").body, "true");
  for (const char* target : {"/v1/kv/wait-unit?wait=5", "/v1/kv/wait-unit?index=1000000&wait=5"}) {
    HttpResponse response = respond("GET", target);
    EXPECT_EQ(response.status, 400) << target;
  }
  EXPECT_EQ(respond("GET", "/v1/kv/wait-unit?wait=5s").status, 200);
  EXPECT_EQ(respond("GET", "/v1/kv/wait-unit?wait=0").status, 200);
}

TEST_F(ApiTest, UnknownPathsAndMethods) {
  HttpResponse unknown = respond("GET", "/v1/nothing/here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(header(unknown, "X-Consul-Index"), "");
  HttpResponse wrong_method = respond("DELETE", "/v1/catalog/nodes");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(header(wrong_method, "Allow"), "GET");
  EXPECT_EQ(respond("GET", "/v1/catalog/nodes?dc=elsewhere").status, 500);
}

TEST_F(ApiTest, JsonKeysMatchCaseInsensitively) {
  ASSERT_EQ(respond("PUT", "/v1/agent/service/register",
                    R"({"name": "web", "id": "web-1", "port": 8080, "tags": ["v1"], "CHECK": {"ttl": "30s"}})")
                .status,
            200);
  json services = json::parse(respond("GET", "/v1/agent/services").body);
  ASSERT_TRUE(services.contains("web-1"));
  EXPECT_EQ(services["web-1"]["Port"], 8080);
  json checks = json::parse(respond("GET", "/v1/agent/checks").body);
  ASSERT_TRUE(checks.contains("service:web-1"));
  EXPECT_EQ(checks["service:web-1"]["Status"], "critical");
}

TEST_F(ApiTest, LegacyGetOnAgentEndpoints) {
  ASSERT_EQ(respond("PUT", "/v1/agent/check/register", R"({"Name": "heartbeat", "TTL": "30s"})").status, 200);
  EXPECT_EQ(respond("GET", "/v1/agent/check/pass/heartbeat?note=fine").status, 200);
  json checks = json::parse(respond("GET", "/v1/health/node/node-1").body);
  bool seen = false;
  for (const auto& check : checks) {
    if (check["CheckID"] == "heartbeat") {
      seen = true;
      EXPECT_EQ(check["Status"], "passing");
      EXPECT_EQ(check["Output"], "fine");
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(respond("GET", "/v1/agent/check/deregister/heartbeat").status, 200);
  EXPECT_EQ(respond("GET", "/v1/agent/check/pass/heartbeat").status, 404);
}

TEST_F(ApiTest, NodeMetaAndTagFilters) {
  ASSERT_EQ(respond("PUT", "/v1/catalog/register",
                    R"({"Node": "db-1", "Address": "10.0.0.5", "NodeMeta": {"role": "db"},
                        "Service": {"Service": "db", "Tags": ["primary"], "Port": 5432}})")
                .status,
            200);
  ASSERT_EQ(respond("PUT", "/v1/catalog/register",
                    R"({"Node": "db-2", "Address": "10.0.0.6", "NodeMeta": {"role": "db"},
                        "Service": {"Service": "db", "Tags": ["replica"], "Port": 5432}})")
                .status,
            200);
  EXPECT_EQ(json::parse(respond("GET", "/v1/catalog/nodes?node-meta=role:db").body).size(), 2u);
  EXPECT_EQ(json::parse(respond("GET", "/v1/catalog/nodes?node-meta=role:base").body).size(), 1u);
  json primaries = json::parse(respond("GET", "/v1/catalog/service/db?tag=primary").body);
  ASSERT_EQ(primaries.size(), 1u);
  EXPECT_EQ(primaries[0]["Node"], "db-1");
  EXPECT_EQ(primaries[0]["NodeMeta"]["role"], "db");
  EXPECT_EQ(json::parse(respond("GET", "/v1/health/service/db?tag=replica").body).size(), 1u);
}

TEST_F(ApiTest, RosterTagLayersStayApartAndMerge) {
  json shown = json::parse(respond("GET", "/v1/roster/node/node-1/tags").body);
  EXPECT_EQ(shown["Image"]["role"], "base");
  json updated = json::parse(respond("PUT", "/v1/roster/node/node-1/tags", R"({"Set": {"role": "web"}})").body);
  EXPECT_EQ(updated["Operator"]["role"], "web");
  EXPECT_EQ(updated["Image"]["role"], "base");
  EXPECT_EQ(updated["Merged"]["role"], "web");
  // Anti-entropy re-registers the node; the operator layer must survive it.
  ASSERT_TRUE(agent::testing::run_now([&](agent::StatusDone done) { core_.sync_to_catalog(done); }).is_ok());
  EXPECT_EQ(json::parse(respond("GET", "/v1/catalog/nodes?node-meta=role:web").body).size(), 1u);
  updated = json::parse(respond("PUT", "/v1/roster/node/node-1/tags", R"({"Remove": ["role"]})").body);
  EXPECT_EQ(updated["Merged"]["role"], "base");
  EXPECT_EQ(respond("PUT", "/v1/roster/node/ghost/tags", R"({"Set": {"a": "b"}})").status, 404);
}

// --- blocking queries ---

TEST_F(ApiTest, BlockingKvGetWakesOnlyForItsKey) {
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "1").body, "true");
  std::string index = header(respond("GET", "/v1/kv/a"), "X-Consul-Index");
  HandleResult blocked = call("GET", "/v1/kv/a?index=" + index + "&wait=9.73s");
  ASSERT_TRUE(blocked.wait.has_value());
  auto fired = watch(*blocked.wait);
  ASSERT_EQ(respond("PUT", "/v1/kv/b", "unrelated").body, "true");
  ASSERT_EQ(respond("PUT", "/v1/kv/ab", "unrelated").body, "true");
  EXPECT_FALSE(*fired);
  // The unrelated writes did not move a's index either.
  EXPECT_TRUE(call("GET", "/v1/kv/a?index=" + index).wait.has_value());
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "2").body, "true");
  EXPECT_TRUE(*fired);
  HandleResult after = call("GET", "/v1/kv/a?index=" + index);
  ASSERT_FALSE(after.wait.has_value());
  EXPECT_GT(std::stoull(header(after.response, "X-Consul-Index")), std::stoull(index));
}

TEST_F(ApiTest, BlockingGetOnMissingKeyWakesWhenItAppears) {
  HttpResponse missing = respond("GET", "/v1/kv/later");
  ASSERT_EQ(missing.status, 404);
  HandleResult blocked = call("GET", "/v1/kv/later?index=" + header(missing, "X-Consul-Index"));
  ASSERT_TRUE(blocked.wait.has_value());
  auto fired = watch(*blocked.wait);
  ASSERT_EQ(respond("PUT", "/v1/kv/other", "x").body, "true");
  EXPECT_FALSE(*fired);
  ASSERT_EQ(respond("PUT", "/v1/kv/later", "x").body, "true");
  EXPECT_TRUE(*fired);
}

TEST_F(ApiTest, BlockingServiceQueryWakesOnlyForThatService) {
  auto register_service = [&](const std::string& node, const std::string& service) {
    return respond("PUT", "/v1/catalog/register",
                   R"({"Node": ")" + node + R"(", "Address": "10.1.1.1", "Service": {"Service": ")" + service + R"("}})");
  };
  ASSERT_EQ(register_service("n1", "web").status, 200);
  std::string index = header(respond("GET", "/v1/catalog/service/web"), "X-Consul-Index");
  HandleResult blocked = call("GET", "/v1/catalog/service/web?index=" + index);
  ASSERT_TRUE(blocked.wait.has_value());
  auto fired = watch(*blocked.wait);
  ASSERT_EQ(register_service("n2", "db").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/kv/x", "y").body, "true");
  EXPECT_FALSE(*fired);
  ASSERT_EQ(register_service("n2", "web").status, 200);
  EXPECT_TRUE(*fired);
}

TEST_F(ApiTest, BlockingNodeQueryWakesOnlyForThatNode) {
  auto register_node = [&](const std::string& node, const std::string& address) {
    return respond("PUT", "/v1/catalog/register", R"({"Node": ")" + node + R"(", "Address": ")" + address + R"("})");
  };
  ASSERT_EQ(register_node("n1", "10.0.0.1").status, 200);
  ASSERT_EQ(register_node("n2", "10.0.0.2").status, 200);
  std::string index = header(respond("GET", "/v1/catalog/node/n1"), "X-Consul-Index");
  HandleResult blocked = call("GET", "/v1/catalog/node/n1?index=" + index);
  ASSERT_TRUE(blocked.wait.has_value());
  auto fired = watch(*blocked.wait);
  ASSERT_EQ(register_node("n2", "10.0.0.22").status, 200);
  ASSERT_EQ(register_node("n1", "10.0.0.1").status, 200);  // unchanged: no wake
  EXPECT_FALSE(*fired);
  ASSERT_EQ(register_node("n1", "10.0.0.11").status, 200);
  EXPECT_TRUE(*fired);
}

// The agent's thread must not stall when a recursive delete of thousands of
// 2 KB keys wakes a parked prefix watcher: matching each key against the
// watched prefixes costs their depth, not the key's length.
TEST_F(ApiTest, RecursiveDeleteOfManyLongKeysWakesPrefixWatchersCheaply) {
  constexpr size_t kKeys = 5000;
  const std::string tail(2000, 'x');
  for (size_t i = 0; i < kKeys; ++i) {
    catalog::KvCommand put;
    put.key = "big/" + std::to_string(i) + tail;
    put.value = "v";
    ASSERT_TRUE(agent::testing::write_now(core_, put).is_ok());
  }
  // A watcher of big/0..., parked (its own listing is one key, to keep the test quick).
  std::string index = header(respond("GET", "/v1/kv/big/0?keys"), "X-Consul-Index");
  HandleResult parked = call("GET", "/v1/kv/big/0?recurse&index=" + index);
  ASSERT_TRUE(parked.wait.has_value());
  auto fired = watch(*parked.wait);
  const uint64_t steps_before = core_.watch_hub().prefix_match_steps();
  EXPECT_EQ(respond("DELETE", "/v1/kv/big/?recurse").body, "true");
  EXPECT_TRUE(*fired);
  EXPECT_LE(core_.watch_hub().prefix_match_steps() - steps_before, kKeys * 4);
  EXPECT_EQ(respond("GET", "/v1/kv/big/?recurse").status, 404);
}

TEST_F(ApiTest, CatalogNodesNeverShowAModifyIndexAboveTheirIndex) {
  ASSERT_EQ(respond("PUT", "/v1/agent/service/register", R"({"Name": "web", "Check": {"TTL": "30s"}})").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/agent/check/pass/service:web").status, 200);
  HttpResponse nodes = respond("GET", "/v1/catalog/nodes");
  json body = json::parse(nodes.body);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_LE(body[0]["ModifyIndex"].get<uint64_t>(), std::stoull(header(nodes, "X-Consul-Index")));
  // The node's own listing still moves with its services.
  EXPECT_EQ(header(respond("GET", "/v1/catalog/node/node-1"), "X-Consul-Index"),
            std::to_string(core_.store().last_index()));
}

TEST_F(ApiTest, WatchersOfTheSameDataShareOneEntry) {
  ASSERT_EQ(respond("PUT", "/v1/kv/hot", "1").body, "true");
  std::string index = header(respond("GET", "/v1/kv/hot"), "X-Consul-Index");
  size_t keys_before = core_.watch_hub().key_count();
  std::vector<std::shared_ptr<bool>> fired;
  for (int i = 0; i < 100; ++i) {
    HandleResult blocked = call("GET", "/v1/kv/hot?index=" + index);
    ASSERT_TRUE(blocked.wait.has_value());
    fired.push_back(watch(*blocked.wait));
  }
  EXPECT_EQ(core_.watch_hub().key_count(), keys_before + 1);
  ASSERT_EQ(respond("PUT", "/v1/kv/hot", "2").body, "true");
  for (const auto& flag : fired) EXPECT_TRUE(*flag);
  EXPECT_EQ(core_.watch_hub().key_count(), keys_before);
}

TEST_F(ApiTest, ExpiredWaitAnswersWithTheSameIndex) {
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "1").body, "true");
  std::string index = header(respond("GET", "/v1/kv/a"), "X-Consul-Index");
  HttpRequest request;
  request.headers["host"] = "127.0.0.1:8500";
  request.method = "GET";
  ASSERT_TRUE(parse_target("/v1/kv/a?index=" + index + "&wait=60000ms", request.path, request.query));
  BlockingState blocking;
  HandleResult first = api_.handle(request, blocking);
  ASSERT_TRUE(first.wait.has_value());
  auto now = std::chrono::steady_clock::now();
  // 60s plus at most 60s/16 of jitter.
  EXPECT_GE(first.wait->deadline - now, std::chrono::seconds(59));
  EXPECT_LE(first.wait->deadline - now, std::chrono::milliseconds(60000 + 3750 + 100));
  blocking.expired = true;
  HandleResult second = api_.handle(request, blocking);
  ASSERT_FALSE(second.wait.has_value());
  EXPECT_EQ(header(second.response, "X-Consul-Index"), index);
}

TEST_F(ApiTest, WaitIsCappedAtTenMinutes) {
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "1").body, "true");
  std::string index = header(respond("GET", "/v1/kv/a"), "X-Consul-Index");
  HandleResult blocked = call("GET", "/v1/kv/a?index=" + index + "&wait=1h");
  ASSERT_TRUE(blocked.wait.has_value());
  EXPECT_LE(blocked.wait->deadline - std::chrono::steady_clock::now(),
            std::chrono::minutes(10) + std::chrono::milliseconds(37500 + 100));
  HandleResult defaulted = call("GET", "/v1/kv/a?index=" + index);
  ASSERT_TRUE(defaulted.wait.has_value());
  EXPECT_GE(defaulted.wait->deadline - std::chrono::steady_clock::now(), std::chrono::seconds(299));
}

// --- sessions and locks ---

TEST_F(ApiTest, SessionLockAcquireRelease) {
  std::string first = json::parse(respond("PUT", "/v1/session/create", R"({"Name": "a"})").body)["ID"];
  std::string second = json::parse(respond("PUT", "/v1/session/create", R"({"Name": "b", "LockDelay": "0s"})").body)["ID"];
  EXPECT_EQ(respond("PUT", "/v1/kv/leader?acquire=" + first, "me").body, "true");
  EXPECT_EQ(respond("PUT", "/v1/kv/leader?acquire=" + second, "you").body, "false");
  json held = json::parse(respond("GET", "/v1/kv/leader").body)[0];
  EXPECT_EQ(held["Session"], first);
  EXPECT_EQ(held["LockIndex"], 1);
  EXPECT_EQ(respond("PUT", "/v1/kv/leader?release=" + second).body, "false");
  EXPECT_EQ(respond("PUT", "/v1/kv/leader?release=" + first).body, "true");
  EXPECT_FALSE(json::parse(respond("GET", "/v1/kv/leader").body)[0].contains("Session"));
  EXPECT_EQ(respond("PUT", "/v1/kv/leader?acquire=" + second, "you").body, "true");
  EXPECT_EQ(respond("PUT", "/v1/session/destroy/" + second).body, "true");
  EXPECT_FALSE(json::parse(respond("GET", "/v1/kv/leader").body)[0].contains("Session"));
  json info = json::parse(respond("GET", "/v1/session/info/" + first).body);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]["Checks"], json::array({"serfHealth"}));
  EXPECT_EQ(info[0]["LockDelay"], 15'000'000'000LL);
  EXPECT_EQ(json::parse(respond("GET", "/v1/session/node/node-1").body).size(), 1u);
  EXPECT_EQ(respond("PUT", "/v1/session/renew/nonexistent").status, 404);
}

// Consul reads a numeric LockDelay as nanoseconds (what its Go client sends
// for a time.Duration), below 1000 as seconds, and caps it at 60 s.
TEST_F(ApiTest, SessionLockDelayIsReadAsConsulReadsIt) {
  auto lock_delay_of = [&](const std::string& body) -> json {
    HttpResponse created = respond("PUT", "/v1/session/create", body);
    EXPECT_EQ(created.status, 200) << body << ": " << created.body;
    if (created.status != 200) return json();
    std::string id = json::parse(created.body)["ID"];
    return json::parse(respond("GET", "/v1/session/info/" + id).body)[0]["LockDelay"];
  };
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": 15})"), 15'000'000'000LL);
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": 999})"), 60'000'000'000LL);  // 999 s, capped
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": 500000000})"), 500'000'000LL);  // Go's 500*time.Millisecond
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": 1000})"), 1000LL);
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": 0})"), 0LL);
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": "250ms"})"), 250'000'000LL);
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": "2h"})"), 60'000'000'000LL);
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": 9223372036854775807})"), 60'000'000'000LL);
  EXPECT_EQ(lock_delay_of(R"({"LockDelay": "1000000h"})"), 60'000'000'000LL);
}

TEST_F(ApiTest, ServiceMaintenanceTakesOnlyThatServiceOut) {
  ASSERT_EQ(respond("PUT", "/v1/agent/service/register", R"({"Name": "web", "Check": {"TTL": "30s", "Status": "passing"}})").status, 200);
  ASSERT_EQ(json::parse(respond("GET", "/v1/health/service/web?passing").body).size(), 1u);
  ASSERT_EQ(respond("PUT", "/v1/agent/service/maintenance/web?enable=true&reason=deploying").status, 200);
  EXPECT_EQ(json::parse(respond("GET", "/v1/health/service/web?passing").body).size(), 0u);
  json checks = json::parse(respond("GET", "/v1/health/checks/web").body);
  bool seen = false;
  for (const auto& check : checks) {
    if (check["CheckID"] == "_service_maintenance:web") {
      seen = true;
      EXPECT_EQ(check["Status"], "critical");
      EXPECT_EQ(check["Notes"], "deploying");
      EXPECT_EQ(check["Name"], "Service Maintenance Mode");
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(json::parse(respond("GET", "/v1/health/state/critical").body).size() == 1u);
  ASSERT_EQ(respond("PUT", "/v1/agent/service/maintenance/web?enable=false").status, 200);
  EXPECT_EQ(json::parse(respond("GET", "/v1/health/service/web?passing").body).size(), 1u);
  EXPECT_EQ(respond("PUT", "/v1/agent/service/maintenance/ghost?enable=true").status, 404);
}

TEST_F(ApiTest, MaintenanceModeMarksTheNodeCritical) {
  ASSERT_EQ(respond("PUT", "/v1/agent/maintenance?enable=true&reason=patching").status, 200);
  json critical = json::parse(respond("GET", "/v1/health/state/critical").body);
  ASSERT_EQ(critical.size(), 1u);
  EXPECT_EQ(critical[0]["CheckID"], "_node_maintenance");
  EXPECT_EQ(critical[0]["Notes"], "patching");
  ASSERT_EQ(respond("PUT", "/v1/agent/maintenance?enable=false").status, 200);
  EXPECT_EQ(json::parse(respond("GET", "/v1/health/state/critical").body).size(), 0u);
  EXPECT_EQ(respond("PUT", "/v1/agent/maintenance").status, 400);
}

// Found by the HTTP API fuzzer: a key with an overlong UTF-8 sequence was
// stored, and GET /v1/kv/?keys then threw from json::dump and aborted the agent.
TEST_F(ApiTest, InvalidUtf8NeverBreaksJsonResponses) {
  EXPECT_EQ(respond("PUT", "/v1/kv/bad%C1%81key", "x").status, 400);     // overlong
  EXPECT_EQ(respond("PUT", "/v1/kv/bad%ED%A0%80key", "x").status, 400);  // surrogate
  EXPECT_EQ(respond("PUT", "/v1/kv/bad%F4%90%80%80", "x").status, 400);  // past U+10FFFF
  EXPECT_EQ(respond("PUT", "/v1/kv/caf%C3%A9", "x").body, "true");       // real UTF-8 still works
  HttpResponse keys = respond("GET", "/v1/kv/?keys&separator=/");
  ASSERT_EQ(keys.status, 200);
  EXPECT_EQ(json::parse(keys.body), json::array({"caf\xC3\xA9"}));

  // Text from a query parameter lands in JSON as a check's output.
  ASSERT_EQ(respond("PUT", "/v1/agent/check/register", R"({"Name": "beat", "TTL": "30s"})").status, 200);
  ASSERT_EQ(respond("PUT", "/v1/agent/check/pass/beat?note=ok%C1%81").status, 200);
  HttpResponse checks = respond("GET", "/v1/agent/checks");
  ASSERT_EQ(checks.status, 200);
  json parsed = json::parse(checks.body);
  EXPECT_EQ(parsed["beat"]["Output"], "ok\xEF\xBF\xBD\xEF\xBF\xBD");  // a U+FFFD per bad byte
}

// Answers that Consul clients depend on, checked against what Consul itself
// says: the missing key name, query options parsed first, a session's TTL as
// sent, the `consul` service that servers list, and `null` for an unknown node.

TEST_F(ApiTest, ConsulAnswersGetWithAnEmptyKeyIsMissingKeyName) {
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
TEST_F(ApiTest, ConsulAnswersQueryOptionsAreValidatedBeforeTheRead) {
  ASSERT_EQ(respond("PUT", "/v1/kv/a", "1").body, "true");
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=1&wait=forever").status, 400);
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=one").status, 400);
  EXPECT_EQ(respond("GET", "/v1/catalog/nodes?index=1&wait=5").status, 400);
  EXPECT_EQ(respond("GET", "/v1/agent/self?wait=soon").status, 400);
  // Empty values are ignored, as in Consul.
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=&wait=").status, 200);
  EXPECT_EQ(respond("GET", "/v1/kv/a?index=1&wait=1s").status, 200);
}

TEST_F(ApiTest, ConsulAnswersASessionsTtlComesBackAsItWasSent) {
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

TEST_F(ApiTest, ConsulAnswersAServerListsTheConsulService) {
  json services = json::parse(respond("GET", "/v1/catalog/services").body);
  ASSERT_TRUE(services.contains("consul")) << services.dump();
  json instances = json::parse(respond("GET", "/v1/catalog/service/consul").body);
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0]["Node"], "node-1");
  EXPECT_EQ(instances[0]["ServicePort"], 8300);
  // It is the catalog's, not one of the agent's own services, as in Consul.
  EXPECT_FALSE(json::parse(respond("GET", "/v1/agent/services").body).contains("consul"));
  // Anti-entropy keeps it.
  ASSERT_TRUE(agent::testing::run_now([&](agent::StatusDone done) { core_.sync_to_catalog(done); }).is_ok());
  EXPECT_TRUE(json::parse(respond("GET", "/v1/catalog/services").body).contains("consul"));
}

// Consul's handler returns its nil NodeServices for a node it does not know:
// 200 with `null`, which clients read as "no such node". A 404 makes the npm
// consul client throw from catalog.node.services().
TEST_F(ApiTest, ConsulAnswersAnUnknownNodeIsNullNotA404) {
  HttpResponse unknown = respond("GET", "/v1/catalog/node/ghost");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.content_type, "application/json");
  EXPECT_EQ(json::parse(unknown.body), nullptr);
  const std::string index = header(unknown, "X-Consul-Index");
  ASSERT_GE(std::stoull(index.empty() ? "0" : index), 1u);
  // A blocking read of the unknown node wakes when it is registered.
  HandleResult blocked = call("GET", "/v1/catalog/node/ghost?index=" + index);
  ASSERT_TRUE(blocked.wait.has_value());
  auto fired = watch(*blocked.wait);
  ASSERT_EQ(respond("PUT", "/v1/catalog/register", R"({"Node": "ghost", "Address": "10.0.0.9"})").status, 200);
  EXPECT_TRUE(*fired);
  EXPECT_EQ(json::parse(respond("GET", "/v1/catalog/node/ghost").body)["Node"]["Node"], "ghost");
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

namespace roster::http {
namespace {

// A write's request is parked until its entry is applied, as a blocking query
// parks, and answered then: no handler blocks the agent's thread.
TEST(ApiParkedWrites, AWriteIsAnsweredWhenItsEntryIsApplied) {
  boost::asio::io_context io;
  SystemClock clock;
  auto deferred = std::make_unique<agent::testing::DeferredCatalog>(clock);
  agent::testing::DeferredCatalog* catalog = deferred.get();
  agent::CoreOptions options;
  options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
  agent::AgentCore core(io, clock, options, std::move(deferred));
  ASSERT_TRUE(core.start().is_ok());
  catalog->release_all();
  Api api(core);

  BlockingState blocking;
  HttpRequest put = api_calls::make_request("PUT", "/v1/kv/parked", "value");
  HandleResult first = api.handle(put, blocking);
  ASSERT_TRUE(first.wait.has_value()) << "answered before the write was applied";
  EXPECT_EQ(catalog->held(), 1u);
  bool woken = false;
  core.watch_hub().wait(first.wait->watch_keys, [&] { woken = true; });
  // Woken early (another key): still parked, nothing written twice.
  HandleResult again = api.handle(put, blocking);
  ASSERT_TRUE(again.wait.has_value());
  EXPECT_EQ(catalog->held(), 1u);
  catalog->release();
  EXPECT_TRUE(woken);
  HandleResult answered = api.handle(put, blocking);
  ASSERT_FALSE(answered.wait.has_value());
  EXPECT_EQ(answered.response.status, 200);
  EXPECT_EQ(answered.response.body, "true");
  EXPECT_EQ(core.store().kv_get("parked").value->value, "value");

  // A refused write answers with its reason, and nothing changed.
  BlockingState refused_state;
  HttpRequest refused_put = api_calls::make_request("PUT", "/v1/kv/refused", "value");
  ASSERT_TRUE(api.handle(refused_put, refused_state).wait.has_value());
  catalog->fail(Status::unavailable("No cluster leader"));
  HandleResult refused = api.handle(refused_put, refused_state);
  ASSERT_FALSE(refused.wait.has_value());
  EXPECT_EQ(refused.response.status, 503);
  EXPECT_FALSE(core.store().kv_get("refused").value.has_value());

  // A write still not applied when the request's deadline passes is a 503
  // that says the write may still happen; its late answer goes nowhere.
  BlockingState late_state;
  HttpRequest late_put = api_calls::make_request("PUT", "/v1/kv/late", "value");
  ASSERT_TRUE(api.handle(late_put, late_state).wait.has_value());
  late_state.expired = true;
  HandleResult late = api.handle(late_put, late_state);
  ASSERT_FALSE(late.wait.has_value());
  EXPECT_EQ(late.response.status, 503);
  catalog->release();
  EXPECT_TRUE(core.store().kv_get("late").value.has_value());
  core.stop();
}

}  // namespace
}  // namespace roster::http
