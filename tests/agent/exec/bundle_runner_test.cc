// The agent's answer to a bundle: applied and reported, idempotent across
// generations, each refusal running nothing, a kill mid-bundle reported as
// interrupted and run again, and handlers pending across a failed run.

#include "agent/exec/bundle_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/exec/bundle_codec.h"
#include "tests/fakes/fake_exec_services.h"
#include "tests/fakes/fault_env.h"
#include "tests/fakes/manual_clock.h"
#include "tests/fakes/mem_env.h"
#include "tests/fakes/mem_file_attributes.h"

namespace roster::exec {
namespace {

using deploy_records::NodeResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kRoot = "/sandbox";
constexpr const char* kDataDir = "/data";

Task task(std::string name, std::string module, Args args, StringList notify = {}) {
  return Task{std::move(name), std::move(module), std::move(args), std::move(notify)};
}

class BundleRunnerTest : public ::testing::Test {
 protected:
  BundleRunnerTest() : key_(std::move(SigningKey::generate()).value()), fault_env_(disk_), attributes_(disk_) {
    EXPECT_TRUE(disk_.create_directory(std::string(kRoot) + "/etc").is_ok());
    EXPECT_TRUE(disk_.create_directory(kDataDir).is_ok());
    commands_.programs["false"] = [](const CommandRequest&) { return CommandOutput{1, false, "", "nope"}; };
    commands_.programs["true"] = [](const CommandRequest&) { return CommandOutput{}; };
  }

  // A fresh agent process over the same disk.
  std::unique_ptr<BundleRunner> start_agent(bool enabled = true) {
    store_ = std::make_unique<ExecStateStore>(&fault_env_, kDataDir);
    BundleRunnerOptions options;
    options.node_id = "id-web-1";
    options.node = "web-1";
    options.trusted_keys = {key_.public_key_raw()};
    options.exec = {enabled, kRoot};
    ExecContext context;
    context.env = &disk_;
    context.attributes = &attributes_;
    context.packages = &packages_;
    context.services = &services_;
    context.commands = &commands_;
    context.tags = &tags_;
    auto runner = std::make_unique<BundleRunner>(options, context, *store_, clock_);
    Result<std::optional<NodeResult>> started = runner->start();
    EXPECT_TRUE(started.is_ok()) << started.status().to_string();
    interrupted_ = started.is_ok() ? *started : std::nullopt;
    return runner;
  }

  BundleMeta meta(uint64_t generation) const {
    BundleMeta meta;
    meta.node_id = "id-web-1";
    meta.node = "web-1";
    meta.generation = generation;
    meta.expires_unix_ms = clock_.unix_nanos() / 1'000'000 + 60'000;
    meta.run_id = "run-" + std::to_string(generation);
    return meta;
  }
  std::string seal(uint64_t generation, const Bundle& bundle) const {
    return seal_bundle(meta(generation), bundle, key_);
  }

  Bundle motd_bundle() const {
    return Bundle{{task("motd", "copy", {{"dest", "/etc/motd"}, {"content", "hello\n"}}),
                   task("role", "tag", {{"set", "stage=configured"}})},
                  {}};
  }

  // Runs `bytes`, checking that `running` comes first when anything runs.
  std::optional<NodeResult> handle(BundleRunner& runner, const std::string& bytes) {
    running_.reset();
    std::optional<NodeResult> result = runner.handle(bytes, [&](const NodeResult& running) {
      EXPECT_EQ(running.status, "running");
      EXPECT_FALSE(running_.has_value());
      running_ = running;
      // The record is on disk before the first task runs.
      Result<ExecState> saved = ExecStateStore(&disk_, kDataDir).load();
      EXPECT_TRUE(saved.is_ok());
      if (saved.is_ok()) {
        EXPECT_EQ(saved->running_generation, running.generation);
      }
      EXPECT_FALSE(disk_.file_exists(std::string(kRoot) + "/etc/motd.ran-early"));
      if (on_running_) on_running_();
    });
    return result;
  }

  void expect_refused(const std::string& bytes, const std::string& reason, bool enabled = true) {
    auto runner = start_agent(enabled);
    std::optional<NodeResult> result = handle(*runner, bytes);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->status, "refused");
    EXPECT_THAT(result->error, HasSubstr(reason));
    EXPECT_FALSE(running_.has_value());
    EXPECT_TRUE(result->tasks.empty());
    EXPECT_FALSE(disk_.file_exists(std::string(kRoot) + "/etc/motd"));
    EXPECT_EQ(tags_.writes, 0);
    EXPECT_EQ(runner->state().running_generation, 0u);
  }

  SigningKey key_;
  fakes::ManualClock clock_;
  fakes::MemEnv disk_;
  fakes::FaultEnv fault_env_;  // the data dir's view of the disk
  fakes::MemFileAttributes attributes_;
  fakes::FakePackageManager packages_;
  fakes::FakeServiceManager services_;
  fakes::FakeCommandRunner commands_;
  fakes::FakeTagSink tags_;
  std::unique_ptr<ExecStateStore> store_;
  std::optional<NodeResult> interrupted_;
  std::optional<NodeResult> running_;
  std::function<void()> on_running_;
};

TEST_F(BundleRunnerTest, AppliesAndReports) {
  auto runner = start_agent();
  EXPECT_FALSE(interrupted_.has_value());
  std::optional<NodeResult> result = handle(*runner, seal(3, motd_bundle()));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(running_.has_value());
  EXPECT_EQ(running_->generation, 3u);
  EXPECT_EQ(running_->run_id, "run-3");
  EXPECT_EQ(result->status, "applied") << result->error;
  EXPECT_EQ(result->node, "web-1");
  EXPECT_EQ(result->node_id, "id-web-1");
  EXPECT_EQ(result->generation, 3u);
  EXPECT_EQ(result->hash, content_hash(motd_bundle(), {}));
  EXPECT_EQ(result->changed, 2);
  ASSERT_EQ(result->tasks.size(), 2u);
  EXPECT_EQ(result->tasks[0].name, "motd");
  EXPECT_EQ(result->tasks[0].status, "changed");
  EXPECT_EQ(result->tasks[1].status, "changed");
  EXPECT_EQ(*disk_.read_file("/sandbox/etc/motd"), "hello\n");
  EXPECT_EQ(tags_.tags().at("stage"), "configured");
  EXPECT_EQ(runner->state().last_generation, 3u);
  EXPECT_EQ(runner->state().running_generation, 0u);
  // And it is durable: a restart knows generation 3 is finished.
  auto restarted = start_agent();
  EXPECT_FALSE(interrupted_.has_value());
  EXPECT_EQ(restarted->state().last_generation, 3u);
}

TEST_F(BundleRunnerTest, ANewGenerationOfTheSameContentChangesNothing) {
  auto runner = start_agent();
  ASSERT_EQ(handle(*runner, seal(1, motd_bundle()))->status, "applied");
  std::optional<NodeResult> again = handle(*runner, seal(2, motd_bundle()));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, "applied");
  EXPECT_EQ(again->changed, 0);
  for (const auto& record : again->tasks) EXPECT_EQ(record.status, "ok") << record.name;
}

TEST_F(BundleRunnerTest, TheBundleLastFinishedIsNotAnsweredAgainAfterARestart) {
  const std::string bytes = seal(1, motd_bundle());
  ASSERT_EQ(handle(*start_agent(), bytes)->status, "applied");
  auto restarted = start_agent();
  EXPECT_FALSE(handle(*restarted, bytes).has_value());
  EXPECT_FALSE(running_.has_value());
}

// Bytes that claim the last finished generation and hash but were altered are
// not passed over as "already answered": they are refused, and nothing runs.
TEST_F(BundleRunnerTest, TheBundleLastFinishedTamperedIsRefused) {
  const std::string bytes = seal(1, motd_bundle());
  auto agent = start_agent();
  ASSERT_EQ(handle(*agent, bytes)->status, "applied");
  std::string tampered = bytes;
  const size_t at = tampered.find("hello");
  ASSERT_NE(at, std::string::npos);
  tampered[at] = 'j';
  std::optional<deploy_records::NodeResult> result = handle(*agent, tampered);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, "refused");
  EXPECT_THAT(result->error, HasSubstr("altered after it was signed"));
}

TEST_F(BundleRunnerTest, RefusesUnsigned) {
  SigningKey stranger = std::move(SigningKey::generate()).value();
  expect_refused(seal_bundle(meta(1), motd_bundle(), stranger), "not in this agent's exec.trusted_keys");
  EXPECT_EQ(store_->load()->last_generation, 0u);  // a refusal does not move it
}

TEST_F(BundleRunnerTest, RefusesTampered) {
  std::string bytes = seal(1, motd_bundle());
  const size_t at = bytes.find("hello");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'j';
  expect_refused(bytes, "altered after it was signed");
}

TEST_F(BundleRunnerTest, RefusesAnotherNodesBundle) {
  BundleMeta other = meta(1);
  other.node_id = "id-db-1";
  expect_refused(seal_bundle(other, motd_bundle(), key_), "id-db-1");
}

TEST_F(BundleRunnerTest, RefusesExpired) {
  BundleMeta old = meta(1);
  old.expires_unix_ms = clock_.unix_nanos() / 1'000'000 - 1;
  expect_refused(seal_bundle(old, motd_bundle(), key_), "expired");
}

TEST_F(BundleRunnerTest, RefusesAReplay) {
  const std::string first = seal(5, motd_bundle());
  const std::string older = seal(4, Bundle{{task("x", "tag", {{"set", "a=1"}})}, {}});
  {
    auto runner = start_agent();
    ASSERT_EQ(handle(*runner, first)->status, "applied");
  }
  ASSERT_TRUE(disk_.remove_file("/sandbox/etc/motd").is_ok());
  const int writes = tags_.writes;
  auto runner = start_agent();
  std::optional<NodeResult> result = handle(*runner, older);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, "refused");
  EXPECT_THAT(result->error, HasSubstr("a replay is refused"));
  EXPECT_EQ(result->generation, 4u);  // as the bundle claims
  EXPECT_FALSE(running_.has_value());
  EXPECT_EQ(tags_.writes, writes);
  EXPECT_FALSE(disk_.file_exists("/sandbox/etc/motd"));
}

TEST_F(BundleRunnerTest, RefusesWhenExecIsDisabled) {
  expect_refused(seal(1, motd_bundle()), "exec is disabled", /*enabled=*/false);
}

TEST_F(BundleRunnerTest, RefusesGarbage) {
  expect_refused("not a bundle at all", "not a deploy bundle");
  expect_refused("", "");
}

TEST_F(BundleRunnerTest, AKillMidBundleIsReportedInterruptedThenRunAgain) {
  const std::string bytes = seal(7, motd_bundle());
  {
    auto runner = start_agent();
    // The process dies after recording the run: the finished record never
    // reaches the disk.
    on_running_ = [&] { fault_env_.fail_rename(1); };
    (void)handle(*runner, bytes);
    on_running_ = nullptr;
  }
  disk_.crash(fakes::CrashMode::drop_unsynced);
  ASSERT_TRUE(disk_.remove_file("/sandbox/etc/motd").is_ok());

  auto runner = start_agent();
  ASSERT_TRUE(interrupted_.has_value());
  EXPECT_EQ(interrupted_->status, "interrupted");
  EXPECT_EQ(interrupted_->generation, 7u);
  EXPECT_EQ(interrupted_->run_id, "run-7");
  EXPECT_EQ(interrupted_->hash, content_hash(motd_bundle(), {}));

  std::optional<NodeResult> result = handle(*runner, bytes);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, "applied") << result->error;
  EXPECT_TRUE(running_.has_value());
  EXPECT_EQ(*disk_.read_file("/sandbox/etc/motd"), "hello\n");
  EXPECT_EQ(runner->state().running_generation, 0u);
  EXPECT_EQ(runner->state().last_generation, 7u);
  // Resumed once: the same bytes are now a finished bundle.
  EXPECT_FALSE(handle(*runner, bytes).has_value());
  EXPECT_FALSE(start_agent() && interrupted_.has_value());
}

TEST_F(BundleRunnerTest, PendingHandlersSurviveAFailedRunAndRunOnTheNextSuccessfulOne) {
  Task restart = task("restart nginx", "service", {{"name", "nginx"}, {"state", "restarted"}});
  Task config = task("nginx.conf", "copy", {{"dest", "/nginx.conf"}, {"content", "a\n"}}, {"restart nginx"});
  Bundle failing{{config, task("boom", "command", {{"argv", "false"}})}, {restart}};
  {
    auto runner = start_agent();
    std::optional<NodeResult> failed = handle(*runner, seal(1, failing));
    ASSERT_TRUE(failed.has_value());
    EXPECT_EQ(failed->status, "failed");
    EXPECT_THAT(failed->error, HasSubstr("boom"));
    EXPECT_THAT(failed->pending_handlers, ElementsAre("restart nginx"));
    EXPECT_TRUE(services_.calls.empty());
  }
  // A restart in between: the pending handler is on disk.
  auto runner = start_agent();
  EXPECT_THAT(runner->state().pending_handlers, ElementsAre("restart nginx"));
  Bundle fixed{{config, task("fine", "command", {{"argv", "true"}})}, {restart}};
  std::optional<NodeResult> applied = handle(*runner, seal(2, fixed));
  ASSERT_TRUE(applied.has_value());
  EXPECT_EQ(applied->status, "applied") << applied->error;
  EXPECT_THAT(running_->pending_handlers, ElementsAre("restart nginx"));
  ASSERT_EQ(applied->handlers.size(), 1u);
  EXPECT_EQ(applied->handlers[0].name, "restart nginx");
  EXPECT_THAT(services_.calls, ElementsAre("restart nginx"));
  EXPECT_TRUE(applied->pending_handlers.empty());
  EXPECT_TRUE(runner->state().pending_handlers.empty());
}

TEST_F(BundleRunnerTest, ARunThatCannotBeRecordedRunsNothing) {
  auto runner = start_agent();
  fault_env_.fail_sync(1);
  std::optional<NodeResult> result = handle(*runner, seal(1, motd_bundle()));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, "failed");
  EXPECT_THAT(result->error, HasSubstr("cannot record the run"));
  EXPECT_FALSE(running_.has_value());
  EXPECT_FALSE(disk_.file_exists("/sandbox/etc/motd"));
}

TEST_F(BundleRunnerTest, WithoutADataDirTheStateLivesInMemory) {
  ExecStateStore memory(nullptr, "");
  EXPECT_EQ(memory.path(), "");
  ExecState state;
  state.last_generation = 4;
  ASSERT_TRUE(memory.save(state).is_ok());
  EXPECT_EQ(memory.load()->last_generation, 4u);
}

TEST(ExecStateTest, RoundTripsAndRefusesGarbage) {
  ExecState state;
  state.last_generation = 9;
  state.last_hash = "abc";
  state.running_generation = 10;
  state.pending_handlers = {"h"};
  Result<ExecState> parsed = parse_exec_state(to_json(state));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(*parsed, state);
  EXPECT_FALSE(parse_exec_state("{\"last_generation\": \"many\"}").is_ok());
  EXPECT_FALSE(parse_exec_state("[1]").is_ok());
  EXPECT_FALSE(parse_exec_state("{").is_ok());
}

}  // namespace
}  // namespace roster::exec
