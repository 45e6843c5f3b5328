// Roster's deploy read endpoints and the Ansible inventory, against a real
// AgentCore: records from the KV, newest-first runs, per-node deploy state,
// blocking on the data each endpoint reads, and malformed records shown as
// errors rather than failing the answer.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "tests/fakes/write_now.h"
#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "common/clock.h"
#include "common/deploy/records.h"
#include "tests/agent/http/api_calls.h"

namespace roster::http {
namespace {

using nlohmann::json;
namespace records = deploy_records;

class ApiDeployTest : public ::testing::Test {
 protected:
  ApiDeployTest() : core_(io_, clock_, options()), api_(core_) {}

  static agent::CoreOptions options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "server-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    options.image_tags = {{"role", "server"}};
    return options;
  }

  void SetUp() override { ASSERT_TRUE(core_.start().is_ok()); }
  void TearDown() override { core_.stop(); }

  HandleResult call(const std::string& target) { return api_calls::call_api(api_, "GET", target); }
  HttpResponse get(const std::string& target) { return api_calls::respond_now(api_, "GET", target); }
  json get_json(const std::string& target) {
    HttpResponse response = get(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    return json::parse(response.body, nullptr, false);
  }
  static std::string index_of(const HttpResponse& response) { return api_calls::header_of(response, "X-Consul-Index"); }

  catalog::Index put(const std::string& key, const std::string& value) {
    catalog::KvCommand command;
    command.key = key;
    command.value = value;
    auto index = agent::testing::write_now(core_, command);
    EXPECT_TRUE(index.is_ok()) << index.status().to_string();
    return index.is_ok() ? *index : 0;
  }

  void register_node(const std::string& name, const std::string& address, catalog::TagMap operator_tags,
                     catalog::TagMap runtime_tags = {}) {
    catalog::RegisterNode command;
    command.node.name = name;
    command.node.id = "id-" + name;
    command.node.address = address;
    command.operator_tags = std::move(operator_tags);
    command.runtime_tags = std::move(runtime_tags);
    ASSERT_TRUE(agent::testing::write_now(core_, command).is_ok());
  }

  static records::RunRecord run(const std::string& id, int64_t started, int64_t finished = 0) {
    records::RunRecord record;
    record.id = id;
    record.trigger = "node web-1 retagged";
    record.started_unix_ms = started;
    record.finished_unix_ms = finished;
    record.nodes["web-1"] = {"applied", "abc123", 3, 1, ""};
    record.total = 1;
    record.done = finished != 0 ? 1 : 0;
    return record;
  }

  // Whether a wait on `wait`'s keys is woken by `change`.
  bool wakes(const BlockingWait& wait, const std::function<void()>& change) {
    bool fired = false;
    auto id = core_.watch_hub().wait(wait.watch_keys, [&] { fired = true; });
    change();
    core_.watch_hub().cancel(id);
    return fired;
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  Api api_;
};

TEST_F(ApiDeployTest, RunsNewestFirstWithALimit) {
  put(records::run_key("000001"), records::to_json(run("000001", 1000, 2000)));
  put(records::run_key("000003"), records::to_json(run("000003", 3000)));
  put(records::run_key("000002"), records::to_json(run("000002", 2000, 2500)));
  json runs = get_json("/v1/roster/deploy/runs");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["id"], "000003");
  EXPECT_EQ(runs[1]["id"], "000002");
  EXPECT_EQ(runs[2]["id"], "000001");
  EXPECT_EQ(runs[0]["trigger"], "node web-1 retagged");
  EXPECT_EQ(runs[0]["nodes"]["web-1"]["status"], "applied");
  EXPECT_EQ(runs[0]["finished_unix_ms"], 0);

  json limited = get_json("/v1/roster/deploy/runs?limit=2");
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[1]["id"], "000002");
  EXPECT_EQ(get_json("/v1/roster/deploy/runs?limit=0").size(), 3u);
  EXPECT_EQ(get("/v1/roster/deploy/runs?limit=many").status, 400);
}

TEST_F(ApiDeployTest, RunsDefaultToTwentyAndEmptyIsAnEmptyList) {
  EXPECT_EQ(get_json("/v1/roster/deploy/runs"), json::array());
  for (int i = 1; i <= 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "%06d", i);
    put(records::run_key(id), records::to_json(run(id, 1000 + i)));
  }
  json runs = get_json("/v1/roster/deploy/runs");
  ASSERT_EQ(runs.size(), 20u);
  EXPECT_EQ(runs[0]["id"], "000025");
}

TEST_F(ApiDeployTest, OneRunOr404) {
  catalog::Index written = put(records::run_key("000007"), records::to_json(run("000007", 7000, 8000)));
  HttpResponse response = get("/v1/roster/deploy/runs/000007");
  ASSERT_EQ(response.status, 200);
  json body = json::parse(response.body);
  EXPECT_EQ(body["id"], "000007");
  EXPECT_EQ(body["done"], 1);
  EXPECT_EQ(index_of(response), std::to_string(written));
  HttpResponse missing = get("/v1/roster/deploy/runs/000008");
  EXPECT_EQ(missing.status, 404);
  EXPECT_FALSE(index_of(missing).empty());
}

TEST_F(ApiDeployTest, MalformedRunShowsItsParseError) {
  put(records::run_key("000001"), records::to_json(run("000001", 1000)));
  put(records::run_key("000002"), "{not json");
  put(records::run_key("000003"), "[1, 2]");
  json runs = get_json("/v1/roster/deploy/runs");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["id"], "000001");
  EXPECT_EQ(runs[1]["id"], "000003");
  EXPECT_NE(runs[1]["parse_error"].get<std::string>().find("not a JSON object"), std::string::npos);
  EXPECT_EQ(runs[2]["id"], "000002");
  EXPECT_NE(runs[2]["parse_error"].get<std::string>().find("malformed"), std::string::npos);
  json one = get_json("/v1/roster/deploy/runs/000002");
  EXPECT_TRUE(one.contains("parse_error"));
}

TEST_F(ApiDeployTest, RunsBlockUntilARunChanges) {
  put(records::run_key("000001"), records::to_json(run("000001", 1000)));
  HttpResponse first = get("/v1/roster/deploy/runs");
  HandleResult blocked = call("/v1/roster/deploy/runs?index=" + index_of(first) + "&wait=1m");
  ASSERT_TRUE(blocked.wait.has_value());
  EXPECT_FALSE(wakes(*blocked.wait, [&] { put("roster/deploy/results/web-1", "{}"); }))
      << "a result is not a run";
  EXPECT_FALSE(wakes(*blocked.wait, [&] { put("app/config", "x"); }));
  EXPECT_TRUE(wakes(*blocked.wait, [&] { put(records::run_key("000001"), records::to_json(run("000001", 1000, 2000))); }));
  HandleResult after = call("/v1/roster/deploy/runs?index=" + index_of(first));
  ASSERT_FALSE(after.wait.has_value());
  EXPECT_EQ(json::parse(after.response.body)[0]["finished_unix_ms"], 2000);

  HttpResponse one = get("/v1/roster/deploy/runs/000001");
  HandleResult one_blocked = call("/v1/roster/deploy/runs/000001?index=" + index_of(one));
  ASSERT_TRUE(one_blocked.wait.has_value());
  EXPECT_FALSE(wakes(*one_blocked.wait, [&] { put(records::run_key("000002"), records::to_json(run("000002", 3000))); }));
  EXPECT_TRUE(wakes(*one_blocked.wait, [&] { put(records::run_key("000001"), "{}"); }));
}

TEST_F(ApiDeployTest, NodesShowStateResultAndFacts) {
  register_node("web-1", "10.0.0.7", {{"role", "web"}});
  records::NodeDeployState state;
  state.node = "web-1";
  state.hash = "0123456789abcdef";
  state.applied_hash = "0123456789abcdef";
  state.generation = 4;
  state.status = "applied";
  put(records::state_key("web-1"), records::to_json(state));
  records::NodeResult result;
  result.node = "web-1";
  result.generation = 4;
  result.status = "applied";
  result.changed = 1;
  result.tasks = {{"message of the day", "copy", "changed", "", "+hello"}};
  put(records::result_key("web-1"), records::to_json(result));
  records::NodeFacts facts;
  facts.hostname = "web-1";
  facts.cpus = 2;
  put(records::facts_key("web-1"), records::to_json(facts));

  json nodes = get_json("/v1/roster/deploy/nodes");
  ASSERT_EQ(nodes.size(), 2u);  // server-1 and web-1, by name
  EXPECT_EQ(nodes[0]["node"], "server-1");
  EXPECT_TRUE(nodes[0]["state"].is_null());
  EXPECT_TRUE(nodes[0]["result"].is_null());
  EXPECT_FALSE(nodes[0].contains("parse_errors"));
  const json& web = nodes[1];
  EXPECT_EQ(web["node"], "web-1");
  EXPECT_EQ(web["node_id"], "id-web-1");
  EXPECT_EQ(web["address"], "10.0.0.7");
  EXPECT_EQ(web["tags"]["role"], "web");
  EXPECT_EQ(web["state"]["generation"], 4);
  EXPECT_EQ(web["state"]["status"], "applied");
  EXPECT_EQ(web["result"]["tasks"][0]["name"], "message of the day");
  EXPECT_EQ(web["result"]["tasks"][0]["status"], "changed");
  EXPECT_EQ(web["facts"]["cpus"], 2);

  json one = get_json("/v1/roster/deploy/nodes/web-1");
  EXPECT_EQ(one, web);
  HttpResponse unknown = get("/v1/roster/deploy/nodes/ghost");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_FALSE(index_of(unknown).empty());
}

TEST_F(ApiDeployTest, NodesWithMalformedRecordsShowTheErrors) {
  register_node("web-1", "10.0.0.7", {});
  put(records::state_key("web-1"), "garbage");
  put(records::result_key("web-1"), R"({"generation": "not a number"})");
  put(records::facts_key("web-1"), R"({"hostname": "web-1"})");
  json one = get_json("/v1/roster/deploy/nodes/web-1");
  EXPECT_TRUE(one["state"].is_null());
  EXPECT_TRUE(one["result"].is_null());
  EXPECT_EQ(one["facts"]["hostname"], "web-1");
  EXPECT_NE(one["parse_errors"]["state"].get<std::string>().find("malformed"), std::string::npos);
  EXPECT_TRUE(one["parse_errors"].contains("result"));
  EXPECT_FALSE(one["parse_errors"].contains("facts"));
  EXPECT_EQ(get_json("/v1/roster/deploy/nodes").size(), 2u);
}

TEST_F(ApiDeployTest, NodesBlockOnDeployRecordsAndTheNodeList) {
  register_node("web-1", "10.0.0.7", {});
  HttpResponse first = get("/v1/roster/deploy/nodes");
  HandleResult blocked = call("/v1/roster/deploy/nodes?index=" + index_of(first) + "&wait=30s");
  ASSERT_TRUE(blocked.wait.has_value());
  EXPECT_FALSE(wakes(*blocked.wait, [&] { put(records::run_key("000001"), "{}"); }));
  EXPECT_FALSE(wakes(*blocked.wait, [&] { put("app/other", "x"); }));
  EXPECT_TRUE(wakes(*blocked.wait, [&] { put(records::result_key("web-1"), "{}"); }));
  EXPECT_TRUE(wakes(*blocked.wait, [&] { put(records::state_key("web-1"), "{}"); }));
  EXPECT_TRUE(wakes(*blocked.wait, [&] { register_node("web-2", "10.0.0.8", {}); }));
  HandleResult after = call("/v1/roster/deploy/nodes?index=" + index_of(first));
  EXPECT_FALSE(after.wait.has_value());

  HttpResponse one = get("/v1/roster/deploy/nodes/web-1");
  HandleResult one_blocked = call("/v1/roster/deploy/nodes/web-1?index=" + index_of(one));
  ASSERT_TRUE(one_blocked.wait.has_value());
  EXPECT_FALSE(wakes(*one_blocked.wait, [&] { put(records::result_key("web-2"), "{}"); }));
  EXPECT_TRUE(wakes(*one_blocked.wait, [&] { put(records::result_key("web-1"), R"({"status": "running"})"); }));
}

TEST_F(ApiDeployTest, InventoryGroupsHostsByMergedTags) {
  register_node("web-1", "10.0.0.7", {{"role", "web"}}, {{"role", "base"}, {"env", "prod"}});
  register_node("db-1", "10.0.0.9", {{"role", "db"}, {"tier", "back-end.v2"}});
  records::NodeFacts facts;
  facts.hostname = "web-1.example";
  facts.memory_bytes = 1 << 30;
  put(records::facts_key("web-1"), records::to_json(facts));
  put(records::facts_key("db-1"), "{broken");

  HttpResponse response = get("/v1/roster/inventory");
  ASSERT_EQ(response.status, 200);
  EXPECT_FALSE(index_of(response).empty());
  json inventory = json::parse(response.body);
  EXPECT_EQ(inventory["all"]["hosts"], json::array({"db-1", "server-1", "web-1"}));
  EXPECT_EQ(inventory["role_web"]["hosts"], json::array({"web-1"}));
  EXPECT_EQ(inventory["role_db"]["hosts"], json::array({"db-1"}));
  EXPECT_EQ(inventory["role_server"]["hosts"], json::array({"server-1"}));
  EXPECT_EQ(inventory["env_prod"]["hosts"], json::array({"web-1"}));
  EXPECT_EQ(inventory["tier_back_end_v2"]["hosts"], json::array({"db-1"}));
  EXPECT_FALSE(inventory.contains("role_base")) << "the operator's role wins in the merged tags";
  json children = inventory["all"]["children"];
  EXPECT_NE(std::find(children.begin(), children.end(), "role_web"), children.end());
  EXPECT_EQ(children.size(), 5u);

  const json& web = inventory["_meta"]["hostvars"]["web-1"];
  EXPECT_EQ(web["ansible_host"], "10.0.0.7");
  EXPECT_EQ(web["roster_node_id"], "id-web-1");
  EXPECT_EQ(web["roster_tags"], json({{"role", "web"}, {"env", "prod"}}));
  EXPECT_EQ(web["roster_facts"]["hostname"], "web-1.example");
  EXPECT_EQ(web["roster_facts"]["memory_bytes"], 1 << 30);
  const json& db = inventory["_meta"]["hostvars"]["db-1"];
  EXPECT_EQ(db["roster_facts"], json::object());
  EXPECT_TRUE(db.contains("roster_facts_error"));
}

TEST_F(ApiDeployTest, InventoryBlocksOnNodesAndFacts) {
  HttpResponse first = get("/v1/roster/inventory");
  HandleResult blocked = call("/v1/roster/inventory?index=" + index_of(first));
  ASSERT_TRUE(blocked.wait.has_value());
  EXPECT_FALSE(wakes(*blocked.wait, [&] { put(records::result_key("web-1"), "{}"); }));
  EXPECT_TRUE(wakes(*blocked.wait, [&] { put(records::facts_key("web-1"), "{}"); }));
  EXPECT_TRUE(wakes(*blocked.wait, [&] { register_node("web-2", "10.0.0.8", {}); }));
}

TEST_F(ApiDeployTest, WritesAreNotAllowed) {
  EXPECT_EQ(api_calls::respond_now(api_, "PUT", "/v1/roster/deploy/runs", "{}").status, 405);
  EXPECT_EQ(api_calls::respond_now(api_, "DELETE", "/v1/roster/inventory").status, 405);
}

}  // namespace
}  // namespace roster::http
