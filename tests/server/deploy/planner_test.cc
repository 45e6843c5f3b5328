#include "server/deploy/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/playbook/loader.h"

namespace roster::deploy {
namespace {

using deploy_records::NodeDeployState;
using deploy_records::NodeResult;
using testing::HasSubstr;
using testing::IsEmpty;

constexpr const char* kPlaybooks = R"(
- name: web
  hosts: role=web
  serial: 2
  max_fail_percentage: 25
  tasks:
    - name: motd
      copy: {dest: /etc/motd, content: "{{ node.name }} serves the web\n"}
- name: db
  hosts: role=db
  tasks:
    - name: db config
      template: {src: db.conf.mustache, dest: /etc/db.conf}
)";

class PlannerTest : public testing::Test {
 protected:
  PlannerTest() {
    std::vector<PlaybookError> errors;
    playbooks_ = parse_playbook_text(kPlaybooks, "site.yaml", errors);
    for (const auto& error : errors) ADD_FAILURE() << error.to_string();
    templates_["db.conf.mustache"] = "listen {{ node.address }}\n";
  }

  Plan plan() const {
    TemplateSource source = [this](const std::string& src) -> std::optional<std::string> {
      auto it = templates_.find(src);
      if (it == templates_.end()) return std::nullopt;
      return it->second;
    };
    return plan_deploy(playbooks_, source, nodes_, records_);
  }

  void node(const std::string& name, std::map<std::string, std::string> tags) {
    std::erase_if(nodes_, [&](const CatalogNode& each) { return each.name == name; });
    nodes_.push_back({name, "id-" + name, "10.0.0.9", std::move(tags)});
  }

  void applied(const std::string& name, const std::string& hash) {
    NodeResult& result = records_.results[name];
    result.node = name;
    result.generation = 10;
    result.hash = hash;
    result.status = "applied";
  }

  std::vector<Playbook> playbooks_;
  std::map<std::string, std::string> templates_;
  std::vector<CatalogNode> nodes_;
  DeployRecords records_;
};

TEST_F(PlannerTest, ANewNodeNeedsItsBundle) {
  node("web-1", {{"role", "web"}});
  node("web-2", {{"role", "web"}});
  Plan result = plan();
  const NodePlan& web = result.nodes.at("web-1");
  ASSERT_TRUE(web.bundle.has_value());
  EXPECT_TRUE(web.wanted);
  EXPECT_TRUE(web.needs_dispatch);
  EXPECT_EQ(web.rollout, "web");
  EXPECT_EQ(web.bundle->playbooks, std::vector<std::string>{"web"});
  EXPECT_EQ(result.rollouts.at("web").targeted, 2);
  EXPECT_EQ(result.rollouts.at("web").serial.value, 2);
  EXPECT_EQ(result.rollouts.at("web").max_fail_percentage, 25);
  EXPECT_EQ(result.rollouts.at("db").targeted, 0);
  EXPECT_EQ(result.desired().size(), 2u);
  EXPECT_NE(web.bundle->hash, result.nodes.at("web-2").bundle->hash) << "the content names the node";
}

TEST_F(PlannerTest, AnAppliedHashMeansNoDispatch) {
  node("web-1", {{"role", "web"}});
  const std::string hash = plan().nodes.at("web-1").bundle->hash;
  applied("web-1", hash);
  const NodePlan web = plan().nodes.at("web-1");
  EXPECT_TRUE(web.wanted);
  EXPECT_FALSE(web.needs_dispatch);
  EXPECT_EQ(web.applied_hash, hash);
}

TEST_F(PlannerTest, TheStateRecordsAppliedHashCountsToo) {
  node("web-1", {{"role", "web"}});
  const std::string hash = plan().nodes.at("web-1").bundle->hash;
  records_.states["web-1"] = NodeDeployState{"web-1", hash, hash, 10, "000001", "applied", 1, "", 0, {}};
  EXPECT_FALSE(plan().nodes.at("web-1").needs_dispatch);
}

TEST_F(PlannerTest, ARetaggedNodeNeedsANewBundle) {
  node("web-1", {{"role", "web"}});
  applied("web-1", plan().nodes.at("web-1").bundle->hash);
  node("web-1", {{"role", "db"}});
  const NodePlan moved = plan().nodes.at("web-1");
  EXPECT_TRUE(moved.needs_dispatch);
  EXPECT_EQ(moved.rollout, "db");
}

TEST_F(PlannerTest, AHashAlreadyInFlightIsNotDispatchedAgain) {
  node("web-1", {{"role", "web"}});
  const std::string hash = plan().nodes.at("web-1").bundle->hash;
  records_.states["web-1"] = NodeDeployState{"web-1", hash, "", 20, "000001", "dispatched", 1, "", 0, {}};
  EXPECT_FALSE(plan().nodes.at("web-1").needs_dispatch);
  // Still running it: in flight.
  NodeResult running;
  running.node = "web-1";
  running.generation = 20;
  running.hash = hash;
  running.status = "running";
  records_.results["web-1"] = running;
  EXPECT_FALSE(plan().nodes.at("web-1").needs_dispatch);
  // It failed: not applied, so it is wanted again.
  records_.results["web-1"].status = "failed";
  EXPECT_TRUE(plan().nodes.at("web-1").needs_dispatch);
}

TEST_F(PlannerTest, ANodeThatNeverHadABundleGetsNoEmptyOne) {
  node("bare", {{"role", "cache"}});
  const NodePlan bare = plan().nodes.at("bare");
  EXPECT_FALSE(bare.wanted);
  EXPECT_FALSE(bare.needs_dispatch);
  EXPECT_TRUE(bare.error.empty());
  EXPECT_THAT(plan().desired(), IsEmpty());
}

TEST_F(PlannerTest, ANodeThatLeftEveryRoleGetsTheEmptyBundleOnce) {
  node("web-1", {{"role", "web"}});
  applied("web-1", plan().nodes.at("web-1").bundle->hash);
  node("web-1", {{"role", "retired"}});
  NodePlan left = plan().nodes.at("web-1");
  ASSERT_TRUE(left.bundle.has_value());
  EXPECT_TRUE(left.bundle->bundle.tasks.empty());
  EXPECT_TRUE(left.wanted);
  EXPECT_TRUE(left.needs_dispatch);
  // Once it applied the empty bundle it is like a node that never had one.
  applied("web-1", left.bundle->hash);
  left = plan().nodes.at("web-1");
  EXPECT_FALSE(left.needs_dispatch);
}

TEST_F(PlannerTest, ABuildErrorIsThatNodesAlone) {
  node("db-1", {{"role", "db"}});
  node("web-1", {{"role", "web"}});
  templates_.clear();
  Plan result = plan();
  const NodePlan& db = result.nodes.at("db-1");
  EXPECT_FALSE(db.bundle.has_value());
  EXPECT_FALSE(db.wanted);
  EXPECT_THAT(db.error, HasSubstr("db.conf.mustache"));
  EXPECT_TRUE(result.nodes.at("web-1").needs_dispatch);
}

// A template that reads a fact cannot be rendered before the node's agent has
// reported its facts: the node waits for them; any other error is a failure.
TEST_F(PlannerTest, ANodeWithoutFactsWaitsForThem) {
  templates_["db.conf.mustache"] = "workers {{ facts.cpus }}\n";
  node("db-1", {{"role", "db"}});
  NodePlan waiting = plan().nodes.at("db-1");
  EXPECT_FALSE(waiting.wanted);
  EXPECT_TRUE(waiting.waiting_for_facts);
  EXPECT_THAT(waiting.error, HasSubstr("has not reported its facts"));

  records_.facts["db-1"] = deploy_records::NodeFacts{"db-1", "Debian GNU/Linux 12 (bookworm)", 4, 1ull << 30};
  NodePlan ready = plan().nodes.at("db-1");
  EXPECT_TRUE(ready.needs_dispatch);
  EXPECT_FALSE(ready.waiting_for_facts);

  templates_.clear();  // a missing template is an error, facts or not
  records_.facts.clear();
  NodePlan broken = plan().nodes.at("db-1");
  EXPECT_FALSE(broken.waiting_for_facts);
  EXPECT_THAT(broken.error, HasSubstr("db.conf.mustache"));
}

TEST_F(PlannerTest, ANodeWithoutAnIdCannotBeSentABundle) {
  nodes_.push_back({"ghost", "", "10.0.0.1", {{"role", "web"}}});
  EXPECT_THAT(plan().nodes.at("ghost").error, HasSubstr("no node ID"));
}

TEST(ReadRecordsTest, ParsesEachFolderAndNamesMalformedRecords) {
  std::vector<KvEntry> entries = {
      {"roster/deploy/bundles/a", "\x01\x02", 1, ""},
      {"roster/deploy/facts/a", R"({"hostname":"a.example","cpus":2})", 2, ""},
      {"roster/deploy/lock", "roster-deploy", 3, "s"},
      {"roster/deploy/results/a", R"({"generation":5,"hash":"h","status":"applied"})", 4, ""},
      {"roster/deploy/runs/000003", R"({"total":1})", 5, ""},
      {"roster/deploy/state/a", "not json", 6, ""},
  };
  DeployRecords records = read_records(entries);
  EXPECT_EQ(records.facts.at("a").cpus, 2);
  EXPECT_EQ(records.results.at("a").node, "a");
  EXPECT_EQ(records.results.at("a").generation, 5u);
  EXPECT_EQ(records.runs.at("000003").id, "000003");
  EXPECT_TRUE(records.states.empty());
  ASSERT_EQ(records.errors.size(), 1u);
  EXPECT_THAT(records.errors[0], HasSubstr("roster/deploy/state/a"));
  EXPECT_EQ(applied_hash(records, "a"), "h");
}

}  // namespace
}  // namespace roster::deploy
