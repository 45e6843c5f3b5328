#include "server/deploy/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "agent/exec/bundle_codec.h"
#include "server/playbook/loader.h"
#include "tests/fakes/fake_catalog_api.h"
#include "tests/fakes/manual_clock.h"

namespace roster::deploy {
namespace {

using namespace std::chrono_literals;
using deploy_records::NodeResult;
using testing::HasSubstr;

constexpr const char* kPlaybooks = R"(
- name: web
  hosts: role=web
  tasks:
    - name: motd
      copy: {dest: /etc/motd, content: "{{ node.name }} serves the web\n"}
- name: db
  hosts: role=db
  tasks:
    - name: db config
      template: {src: db.conf.mustache, dest: /etc/db.conf}
)";

// The whole planning loop against an in-memory catalog, an agent played by
// the test, and a manual clock.
class EngineTest : public testing::Test {
 protected:
  EngineTest() : key_(SigningKey::generate().value()) {
    std::vector<PlaybookError> errors;
    playbooks_ = parse_playbook_text(kPlaybooks, "site.yaml", errors);
    for (const auto& error : errors) ADD_FAILURE() << error.to_string();
    logger_ = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger_->set_pattern("%l %v");
  }

  std::unique_ptr<Engine> make_engine(EngineOptions options = {}) {
    TemplateSource templates = [](const std::string& src) -> std::optional<std::string> {
      if (src == "db.conf.mustache") return std::string("listen {{ node.address }}\n");
      return std::nullopt;
    };
    return std::make_unique<Engine>(options, playbooks_, templates, key_, api_, clock_, logger_);
  }

  // One round: read the catalog (without blocking) and step.
  void sync(Engine& engine) {
    engine.on_nodes(api_.nodes(0, 0ms));
    engine.on_kv(api_.kv_tree(std::string(deploy_records::kPrefix), 0, 0ms));
    engine.step();
  }

  exec::OpenedBundle bundle_of(const std::string& node) {
    auto bytes = api_.value(deploy_records::bundle_key(node));
    EXPECT_TRUE(bytes.has_value()) << "no bundle for " << node;
    exec::OpenPolicy policy;
    policy.node_id = "id-" + node;
    policy.now_unix_ms = clock_.unix_nanos() / 1'000'000;
    policy.trusted_keys = {key_.public_key_raw()};
    auto opened = exec::open_bundle(bytes.value_or(""), policy);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    return opened.is_ok() ? *opened : exec::OpenedBundle{};
  }

  // The node's agent answers the bundle it holds.
  void agent_answers(const std::string& node, const std::string& status, int changed = 1, std::string error = "") {
    exec::OpenedBundle bundle = bundle_of(node);
    NodeResult result;
    result.node = node;
    result.node_id = bundle.meta.node_id;
    result.generation = bundle.meta.generation;
    result.hash = bundle.meta.content_hash;
    result.run_id = bundle.meta.run_id;
    result.status = status;
    result.changed = changed;
    result.error = std::move(error);
    api_.put_now(deploy_records::result_key(node), deploy_records::to_json(result));
  }

  deploy_records::NodeDeployState state_of(const std::string& node) {
    auto text = api_.value(deploy_records::state_key(node));
    EXPECT_TRUE(text.has_value()) << "no state for " << node;
    auto parsed = deploy_records::parse_node_state(text.value_or("{}"));
    return parsed.is_ok() ? *parsed : deploy_records::NodeDeployState{};
  }

  deploy_records::RunRecord run(const std::string& id) {
    auto text = api_.value(deploy_records::run_key(id));
    EXPECT_TRUE(text.has_value()) << "no run " << id;
    auto parsed = deploy_records::parse_run_record(text.value_or("{}"));
    return parsed.is_ok() ? *parsed : deploy_records::RunRecord{};
  }

  fakes::FakeCatalogApi api_;
  fakes::ManualClock clock_;
  SigningKey key_;
  std::vector<Playbook> playbooks_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(EngineTest, PushesEachNodeItsBundleAndRecordsTheRun) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  api_.set_node("db-1", "id-db-1", {{"role", "db"}});
  api_.set_node("bare", "id-bare", {});
  auto engine = make_engine();
  sync(*engine);

  exec::OpenedBundle web = bundle_of("web-1");
  EXPECT_EQ(web.meta.node, "web-1");
  EXPECT_EQ(web.meta.run_id, "000001");
  EXPECT_EQ(web.meta.expires_unix_ms, clock_.unix_nanos() / 1'000'000 + 3'600'000);
  EXPECT_EQ(web.bundle.tasks.size(), 1u);
  EXPECT_FALSE(api_.value(deploy_records::bundle_key("bare")).has_value()) << "no empty bundle for a bare node";
  EXPECT_EQ(state_of("web-1").status, "dispatched");
  EXPECT_EQ(state_of("web-1").generation, web.meta.generation);
  EXPECT_EQ(run("000001").total, 2);

  agent_answers("web-1", "applied", 2);
  agent_answers("db-1", "applied", 1);
  sync(*engine);
  EXPECT_EQ(state_of("web-1").status, "applied");
  EXPECT_EQ(state_of("web-1").applied_hash, web.meta.content_hash);
  auto finished = run("000001");
  EXPECT_EQ(finished.done, 2);
  EXPECT_NE(finished.finished_unix_ms, 0);
  EXPECT_EQ(finished.nodes["web-1"].changed, 2);
  EXPECT_THAT(log_.str(), HasSubstr("run 000001: web-1 applied (2 changed)"));

  // Level-triggered: nothing changed, nothing is written again.
  const int bundles = api_.puts("roster/deploy/bundles/");
  const int states = api_.puts("roster/deploy/state/");
  sync(*engine);
  sync(*engine);
  EXPECT_EQ(api_.puts("roster/deploy/bundles/"), bundles);
  EXPECT_EQ(api_.puts("roster/deploy/state/"), states);
}

TEST_F(EngineTest, ARetaggedNodeGetsANewerBundleInANewRun) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  auto engine = make_engine();
  sync(*engine);
  const uint64_t first = bundle_of("web-1").meta.generation;
  agent_answers("web-1", "applied");
  sync(*engine);

  clock_.advance(1s);
  api_.set_node("web-1", "id-web-1", {{"role", "db"}});
  sync(*engine);
  exec::OpenedBundle moved = bundle_of("web-1");
  EXPECT_GT(moved.meta.generation, first);
  EXPECT_EQ(moved.meta.run_id, "000002");
  EXPECT_EQ(moved.meta.playbooks, std::vector<std::string>{"db"});
}

TEST_F(EngineTest, ARestartedEngineDoesNotRepushWhatIsApplied) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  {
    auto engine = make_engine();
    sync(*engine);
    agent_answers("web-1", "applied");
    sync(*engine);
  }
  const int bundles = api_.puts("roster/deploy/bundles/");
  auto restarted = make_engine();
  sync(*restarted);
  EXPECT_TRUE(restarted->resumed());
  EXPECT_EQ(api_.puts("roster/deploy/bundles/"), bundles);

  // Runs continue after the highest in the catalog.
  api_.set_node("web-2", "id-web-2", {{"role", "web"}});
  sync(*restarted);
  EXPECT_EQ(bundle_of("web-2").meta.run_id, "000002");
}

TEST_F(EngineTest, ARestartedEngineWaitsForAnUnansweredBundleUntilItsTimeout) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  {
    auto engine = make_engine();
    sync(*engine);
  }
  const int bundles = api_.puts("roster/deploy/bundles/");
  clock_.advance(30s);
  auto restarted = make_engine();
  sync(*restarted);
  EXPECT_EQ(api_.puts("roster/deploy/bundles/"), bundles) << "still in flight";
  EXPECT_EQ(restarted->dispatcher().node("web-1")->status, "dispatched");

  // The agent answers the bundle the first engine wrote.
  agent_answers("web-1", "applied");
  sync(*restarted);
  EXPECT_EQ(state_of("web-1").status, "applied");
  EXPECT_EQ(run("000001").done, 1);
}

TEST_F(EngineTest, NoAnswerTimesOutAndIsRetried) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  auto engine = make_engine();
  sync(*engine);
  const uint64_t first = bundle_of("web-1").meta.generation;
  clock_.advance(60s);
  sync(*engine);
  EXPECT_EQ(state_of("web-1").status, "failed");
  EXPECT_THAT(state_of("web-1").error, HasSubstr("no answer from its agent"));
  EXPECT_EQ(run("000001").failed, 1);
  EXPECT_THAT(log_.str(), HasSubstr("run 000001: web-1 failed: no answer"));
  clock_.advance(1s);
  sync(*engine);
  EXPECT_GT(bundle_of("web-1").meta.generation, first);
  EXPECT_EQ(bundle_of("web-1").meta.run_id, "000002");
  EXPECT_EQ(state_of("web-1").attempts, 2);
}

TEST_F(EngineTest, AFailedTaskIsReportedPerNode) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  auto engine = make_engine();
  sync(*engine);
  agent_answers("web-1", "failed", 0, "task 'motd': permission denied");
  sync(*engine);
  EXPECT_EQ(state_of("web-1").status, "failed");
  EXPECT_THAT(log_.str(), HasSubstr("run 000001: web-1 failed: task 'motd': permission denied"));
}

TEST_F(EngineTest, ABuildErrorIsRecordedInTheNodesStateAndNothingIsSent) {
  api_.set_node("db-1", "id-db-1", {{"role", "db"}});
  playbooks_[1].tasks[0].args["src"].value = std::string("missing.mustache");
  auto engine = make_engine();
  sync(*engine);
  EXPECT_FALSE(api_.value(deploy_records::bundle_key("db-1")).has_value());
  EXPECT_EQ(state_of("db-1").status, "failed");
  EXPECT_THAT(state_of("db-1").error, HasSubstr("missing.mustache"));
  EXPECT_THAT(log_.str(), HasSubstr("db-1 failed: cannot build its bundle"));

  // Retagged out of the broken playbook: the error goes, and nothing is sent.
  api_.set_node("db-1", "id-db-1", {{"role", "none"}});
  sync(*engine);
  EXPECT_EQ(state_of("db-1").status, "applied");
  EXPECT_EQ(state_of("db-1").error, "");
  EXPECT_FALSE(api_.value(deploy_records::bundle_key("db-1")).has_value());
}

TEST_F(EngineTest, NeverPlansFromAnEmptyOrUnreachableCatalog) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  api_.set_node("web-2", "id-web-2", {{"role", "web"}});
  auto engine = make_engine();
  sync(*engine);
  agent_answers("web-1", "applied");
  agent_answers("web-2", "applied");
  sync(*engine);
  const int writes = api_.puts("roster/deploy/");

  api_.remove_node("web-1");
  api_.remove_node("web-2");
  sync(*engine);
  sync(*engine);
  EXPECT_EQ(engine->plan().nodes.size(), 2u) << "the last good view is kept";
  EXPECT_EQ(api_.puts("roster/deploy/"), writes);
  EXPECT_THAT(log_.str(), HasSubstr("the catalog returned no nodes after 2"));

  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  sync(*engine);
  EXPECT_THAT(log_.str(), HasSubstr("catalog nodes readable again: 1 nodes"));
  EXPECT_EQ(engine->plan().nodes.size(), 1u);

  api_.set_unreachable(true);
  const int before = api_.puts("roster/deploy/");
  api_.set_node("web-3", "id-web-3", {{"role", "web"}});
  sync(*engine);
  EXPECT_THAT(log_.str(), HasSubstr("cannot read the catalog's nodes"));
  EXPECT_EQ(engine->plan().nodes.size(), 1u);
  api_.set_unreachable(false);
  sync(*engine);
  EXPECT_EQ(engine->plan().nodes.size(), 2u);
  EXPECT_GT(api_.puts("roster/deploy/"), before);
}

TEST_F(EngineTest, ABundleThatCannotBeWrittenIsRetried) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  auto engine = make_engine();
  api_.fail_next_puts(1);
  sync(*engine);
  EXPECT_FALSE(api_.value(deploy_records::bundle_key("web-1")).has_value());
  EXPECT_THAT(state_of("web-1").error, HasSubstr("could not write the bundle"));
  clock_.advance(1s);
  sync(*engine);
  EXPECT_EQ(bundle_of("web-1").meta.node, "web-1");
}

TEST_F(EngineTest, CheckModeSealsDryRunsAndWritesNoState) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  EngineOptions options;
  options.check_mode = true;
  auto engine = make_engine(options);
  sync(*engine);
  EXPECT_TRUE(bundle_of("web-1").meta.check_mode);
  EXPECT_FALSE(api_.value(deploy_records::state_key("web-1")).has_value());
  agent_answers("web-1", "applied");
  sync(*engine);
  const int bundles = api_.puts("roster/deploy/bundles/");
  sync(*engine);
  EXPECT_EQ(api_.puts("roster/deploy/bundles/"), bundles) << "a checked hash is not checked again";
  EXPECT_THAT(log_.str(), HasSubstr("web-1 checked"));
}

}  // namespace
}  // namespace roster::deploy
