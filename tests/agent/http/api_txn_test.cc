// /v1/txn as a function: requests in, responses out, against a real
// AgentCore in -dev mode. No sockets.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "common/clock.h"
#include "tests/agent/http/api_calls.h"

namespace roster::http {
namespace {

using nlohmann::json;

class ApiTxnTest : public ::testing::Test {
 protected:
  explicit ApiTxnTest(ApiOptions api_options = {}) : core_(io_, clock_, options()), api_(core_, api_options) {}

  static agent::CoreOptions options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    return options;
  }

  void SetUp() override { ASSERT_TRUE(core_.start().is_ok()); }
  void TearDown() override { core_.stop(); }

  HandleResult call(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::call_api(api_, method, target, body);
  }

  HttpResponse respond(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::respond_now(api_, method, target, body);
  }

  HttpResponse txn(const json& ops, const std::string& query = "") {
    return respond("PUT", "/v1/txn" + query, ops.dump());
  }

  static std::string header(const HttpResponse& response, const std::string& name) {
    return api_calls::header_of(response, name);
  }

  static json kv(const std::string& verb, const std::string& key, const json& extra = json::object()) {
    json op{{"Verb", verb}, {"Key", key}};
    op.update(extra);
    return json{{"KV", op}};
  }

  uint64_t modify_index(const std::string& key) {
    return json::parse(respond("GET", "/v1/kv/" + key).body)[0]["ModifyIndex"].get<uint64_t>();
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  Api api_;
};

TEST_F(ApiTxnTest, KvOperationsCommitAtOneIndex) {
  HttpResponse response = txn(json::array({kv("set", "app/a", {{"Value", "aGVsbG8="}, {"Flags", 7}}),
                                           kv("cas", "app/b", {{"Value", "Yg=="}, {"Index", 0}}),
                                           kv("get", "app/a"), kv("check-not-exists", "app/c")}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  json body = json::parse(response.body);
  EXPECT_TRUE(body["Errors"].is_null());
  ASSERT_EQ(body["Results"].size(), 3u);
  EXPECT_EQ(body["Results"][0]["KV"]["Key"], "app/a");
  EXPECT_TRUE(body["Results"][0]["KV"]["Value"].is_null());  // only reads carry values
  EXPECT_EQ(body["Results"][0]["KV"]["Flags"], 7);
  EXPECT_EQ(body["Results"][2]["KV"]["Value"], "aGVsbG8=");
  const uint64_t at = body["Results"][0]["KV"]["ModifyIndex"];
  EXPECT_EQ(body["Results"][1]["KV"]["ModifyIndex"], at);
  EXPECT_EQ(modify_index("app/a"), at);
  EXPECT_EQ(modify_index("app/b"), at);
  EXPECT_EQ(core_.store().last_index(), at);
  EXPECT_EQ(respond("GET", "/v1/kv/app/b?raw").body, "b");
}

TEST_F(ApiTxnTest, AFailedOperationAnswers409AndChangesNothing) {
  ASSERT_EQ(respond("PUT", "/v1/kv/kept", "v").body, "true");
  const uint64_t kept_at = modify_index("kept");
  HttpResponse response = txn(json::array({kv("set", "new", {{"Value", "MQ=="}}), kv("delete", "kept"),
                                           kv("cas", "kept", {{"Value", "Mg=="}, {"Index", kept_at + 100}}),
                                           kv("check-index", "kept", {{"Index", kept_at}})}));
  ASSERT_EQ(response.status, 409) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  json body = json::parse(response.body);
  EXPECT_TRUE(body["Results"].is_null());
  ASSERT_EQ(body["Errors"].size(), 2u);
  EXPECT_EQ(body["Errors"][0]["OpIndex"], 2);
  EXPECT_EQ(body["Errors"][0]["What"], "failed to set key \"kept\", index is stale");
  EXPECT_EQ(body["Errors"][1]["OpIndex"], 3);  // op 1 had deleted it
  EXPECT_EQ(body["Errors"][1]["What"], "key \"kept\" doesn't exist");
  EXPECT_EQ(respond("GET", "/v1/kv/new").status, 404);
  EXPECT_EQ(respond("GET", "/v1/kv/kept?raw").body, "v");
  EXPECT_EQ(modify_index("kept"), kept_at);
  EXPECT_EQ(header(respond("GET", "/v1/kv/kept"), "X-Consul-Index"), std::to_string(kept_at));
}

TEST_F(ApiTxnTest, WatchersWakeForACommittedTransactionOnly) {
  ASSERT_EQ(respond("PUT", "/v1/kv/watched", "v").body, "true");
  const uint64_t at = modify_index("watched");
  HandleResult parked = call("GET", "/v1/kv/watched?index=" + std::to_string(at) + "&wait=1m");
  ASSERT_TRUE(parked.wait.has_value());
  auto fired = std::make_shared<int>(0);
  core_.watch_hub().wait(parked.wait->watch_keys, [fired] { ++*fired; });

  EXPECT_EQ(txn(json::array({kv("set", "watched", {{"Value", "eA=="}}), kv("get", "missing")})).status, 409);
  EXPECT_EQ(*fired, 0);
  EXPECT_EQ(txn(json::array({kv("set", "watched", {{"Value", "eA=="}}), kv("set", "other")})).status, 200);
  EXPECT_EQ(*fired, 1);
}

TEST_F(ApiTxnTest, NodeServiceAndCheckOperations) {
  json node{{"Node", "db-1"}, {"Address", "10.0.0.5"}, {"Meta", {{"role", "db"}}}};
  json service{{"ID", "pg-1"}, {"Service", "postgres"}, {"Port", 5432}, {"Tags", {"primary"}}};
  json check{{"Node", "db-1"}, {"CheckID", "pg-alive"}, {"Name", "pg alive"}, {"Status", "passing"},
             {"ServiceID", "pg-1"}, {"Definition", {{"Interval", "10s"}}}};
  HttpResponse response = txn(json::array({json{{"Node", {{"Verb", "set"}, {"Node", node}}}},
                                           json{{"Service", {{"Verb", "set"}, {"Node", "db-1"}, {"Service", service}}}},
                                           json{{"Check", {{"Verb", "set"}, {"Check", check}}}}}));
  ASSERT_EQ(response.status, 200) << response.body;
  json results = json::parse(response.body)["Results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["Node"]["Node"], "db-1");
  EXPECT_EQ(results[0]["Node"]["Meta"]["role"], "db");
  EXPECT_EQ(results[1]["Service"]["ID"], "pg-1");
  EXPECT_EQ(results[1]["Service"]["Port"], 5432);
  EXPECT_EQ(results[2]["Check"]["ServiceName"], "postgres");
  EXPECT_EQ(results[2]["Check"]["Definition"]["Interval"], "10s");
  const uint64_t node_index = results[0]["Node"]["ModifyIndex"];
  const uint64_t service_index = results[1]["Service"]["ModifyIndex"];
  json health = json::parse(respond("GET", "/v1/health/service/postgres").body);
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["Checks"][0]["Status"], "passing");

  // Reads, and CAS on each kind.
  response = txn(json::array({json{{"Node", {{"Verb", "get"}, {"Node", {{"Node", "db-1"}}}}}},
                              json{{"Service", {{"Verb", "get"}, {"Node", "db-1"}, {"Service", {{"ID", "pg-1"}}}}}},
                              json{{"Check", {{"Verb", "get"}, {"Check", {{"Node", "db-1"}, {"CheckID", "pg-alive"}}}}}}}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(json::parse(response.body)["Results"].size(), 3u);
  service["Port"] = 5433;
  service["ModifyIndex"] = service_index + 1;
  response = txn(json::array({json{{"Service", {{"Verb", "cas"}, {"Node", "db-1"}, {"Service", service}}}}}));
  ASSERT_EQ(response.status, 409);
  EXPECT_EQ(json::parse(response.body)["Errors"][0]["What"],
            "failed to set service \"pg-1\" on node \"db-1\", index is stale");
  service["ModifyIndex"] = service_index;
  EXPECT_EQ(txn(json::array({json{{"Service", {{"Verb", "cas"}, {"Node", "db-1"}, {"Service", service}}}}})).status,
            200);
  EXPECT_EQ(json::parse(respond("GET", "/v1/catalog/service/postgres").body)[0]["ServicePort"], 5433);

  // Deleting the node takes its service and check; deletes return nothing.
  response = txn(json::array({json{{"Node", {{"Verb", "delete-cas"}, {"Node", {{"Node", "db-1"}, {"ModifyIndex", node_index}}}}}}}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(json::parse(response.body)["Results"].is_null());
  EXPECT_TRUE(json::parse(respond("GET", "/v1/catalog/node/db-1").body).is_null());
  EXPECT_EQ(json::parse(respond("GET", "/v1/catalog/service/postgres").body).size(), 0u);
}

TEST_F(ApiTxnTest, ReadOnlyTransactionsAreServedAsReads) {
  ASSERT_EQ(respond("PUT", "/v1/kv/r/a", "1").body, "true");
  ASSERT_EQ(respond("PUT", "/v1/kv/r/b", "2").body, "true");
  const uint64_t before = core_.store().last_index();
  for (const char* query : {"", "?stale", "?consistent"}) {
    HttpResponse response = txn(json::array({kv("get-tree", "r/"), kv("check-not-exists", "r/c")}), query);
    ASSERT_EQ(response.status, 200) << query << " " << response.body;
    EXPECT_EQ(json::parse(response.body)["Results"].size(), 2u) << query;
    EXPECT_EQ(header(response, "X-Consul-KnownLeader"), "true") << query;
    EXPECT_EQ(header(response, "X-Consul-LastContact"), "0") << query;
  }
  HttpResponse failed = txn(json::array({kv("get", "r/none")}), "?stale");
  EXPECT_EQ(failed.status, 409);
  EXPECT_EQ(json::parse(failed.body)["Errors"][0]["What"], "key \"r/none\" doesn't exist");
  EXPECT_EQ(txn(json::array({kv("get", "r/a")}), "?stale&consistent").status, 400);
  EXPECT_EQ(core_.store().last_index(), before);  // no write, not even a failed one

  // A write with ?stale is still a write: the flag is ignored.
  EXPECT_EQ(txn(json::array({kv("set", "r/c")}), "?stale").status, 200);
  EXPECT_EQ(core_.store().last_index(), before + 1);
}

TEST_F(ApiTxnTest, ConsulsLimits) {
  json ops = json::array();
  for (int i = 0; i < 65; ++i) ops.push_back(kv("set", "many/" + std::to_string(i)));
  HttpResponse too_many = txn(ops);
  EXPECT_EQ(too_many.status, 413);
  EXPECT_EQ(too_many.body, "Transaction contains too many operations (65 > 64)\n");
  ops.erase(ops.begin());
  EXPECT_EQ(txn(ops).status, 200);

  std::string huge = json::array({kv("set", "big", {{"Value", std::string(512 * 1024, 'A')}})}).dump();
  HttpResponse too_big = respond("PUT", "/v1/txn", huge);
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(too_big.body, "Request body too large, max size: 524288 bytes\n");
  EXPECT_EQ(respond("GET", "/v1/kv/big").status, 404);
}

class ApiTxnSmallValuesTest : public ApiTxnTest {
 protected:
  static ApiOptions small_values() {
    ApiOptions options;
    options.max_kv_value_bytes = 4;
    return options;
  }
  ApiTxnSmallValuesTest() : ApiTxnTest(small_values()) {}
};

TEST_F(ApiTxnSmallValuesTest, AValueOverTheKvLimitIs413) {
  HttpResponse response = txn(json::array({kv("set", "ok", {{"Value", "MTIzNA=="}}),       // 4 bytes
                                           kv("set", "big", {{"Value", "MTIzNDU="}})}));  // 5 bytes
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, "Value for key \"big\" is too large (5 > 4 bytes)\n");
  EXPECT_EQ(respond("GET", "/v1/kv/ok").status, 404);
}

TEST_F(ApiTxnTest, BadInputIsA400AndChangesNothing) {
  const uint64_t before = core_.store().last_index();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "malformed JSON"},
      {"", "malformed JSON"},
      {R"({"KV": {"Verb": "set", "Key": "k"}})", "expected a JSON array"},
      {R"([{"KV": {"Verb": "upsert", "Key": "k"}}])", "operation 0: unknown KV verb \"upsert\""},
      {R"([{"KV": {"Key": "k"}}])", "operation 0: KV Verb is required"},
      {R"([{"KV": {"Verb": "set", "Key": "a"}}, {"KV": {"Verb": "set"}}])", "operation 1: Missing key name"},
      {R"([{"KV": {"Verb": "set", "Key": "k", "Value": "not base64!"}}])", "operation 0: failed to decode Value"},
      {R"([{"KV": {"Verb": "set", "Key": "k", "Value": 5}}])", "Value must be a base64 string"},
      {R"([{"KV": {"Verb": "cas", "Key": "k", "Index": -1}}])", "Index must be an unsigned integer"},
      {R"([{"KV": {"Verb": "set", "Key": "k", "Flags": "x"}}])", "Flags must be an unsigned integer"},
      {R"([{"KV": {"Verb": "lock", "Key": "k"}}])", "Missing session for key \"k\""},
      {R"([{"KV": {"Verb": "set", "Key": "bad\u0001key"}}])", "control byte"},
      {R"([{"KV": {"Verb": "set", "Key": "k"}, "Node": {"Verb": "get", "Node": {"Node": "n"}}}])",
       "exactly one of KV, Node, Service or Check"},
      {R"([{}])", "exactly one of KV, Node, Service or Check"},
      {R"([5])", "operation 0: must be an object"},
      {R"([{"Node": {"Verb": "set", "Node": {"Address": "10.0.0.1"}}}])", "Must supply node name"},
      {R"([{"Node": {"Verb": "explode", "Node": {"Node": "n"}}}])", "unknown Node verb \"explode\""},
      {R"([{"Node": {"Verb": "set", "Node": {"Node": "n", "Datacenter": "dc9"}}}])", "datacenter dc9"},
      {R"([{"Service": {"Verb": "set", "Node": "node-1", "Service": {"ID": "x"}}}])", "Must provide service name"},
      {R"([{"Service": {"Verb": "get", "Service": {"ID": "x"}}}])", "Must supply node name"},
      {R"([{"Check": {"Verb": "set", "Check": {"Node": "node-1", "CheckID": "c", "Status": "fine"}}}])",
       "Invalid check status"},
  };
  for (const auto& [body, message] : cases) {
    HttpResponse response = respond("PUT", "/v1/txn", body);
    EXPECT_EQ(response.status, 400) << body << " -> " << response.body;
    EXPECT_NE(response.body.find(message), std::string::npos) << body << " -> " << response.body;
  }
  EXPECT_EQ(core_.store().last_index(), before);
  EXPECT_EQ(respond("GET", "/v1/kv/k").status, 404);
  EXPECT_EQ(respond("GET", "/v1/kv/a").status, 404);
  EXPECT_EQ(respond("GET", "/v1/txn").status, 405);
  EXPECT_EQ(respond("POST", "/v1/txn", "[]").status, 405);
}

TEST_F(ApiTxnTest, AnEmptyTransactionSucceeds) {
  HttpResponse response = txn(json::array());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body), json::parse(R"({"Results": null, "Errors": null})"));
}

}  // namespace
}  // namespace roster::http
