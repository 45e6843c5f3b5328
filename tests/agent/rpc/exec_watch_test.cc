// The exec driver against an in-memory KV: it picks up a bundle, writes
// `running` then the result, blocks again at the bundle's index, survives
// channel errors, reports an interrupted run at start, and stops at once
// even in the middle of a long blocking query.

#include "agent/rpc/exec_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "agent/exec/bundle_codec.h"
#include "tests/fakes/fake_exec_services.h"
#include "tests/fakes/fake_kv_channel.h"
#include "tests/fakes/fault_env.h"
#include "tests/fakes/manual_clock.h"
#include "tests/fakes/mem_env.h"
#include "tests/fakes/mem_file_attributes.h"

namespace roster::rpc {
namespace {

using namespace std::chrono_literals;
using deploy_records::NodeResult;
using exec::Bundle;
using exec::Task;

constexpr const char* kBundleKey = "roster/deploy/bundles/web-1";
constexpr const char* kResultKey = "roster/deploy/results/web-1";
constexpr const char* kFactsKey = "roster/deploy/facts/web-1";

// Polls `condition` until it holds or 10 s pass.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::vector<std::string> statuses(const std::vector<std::string>& results) {
  std::vector<std::string> out;
  for (const std::string& json : results) {
    Result<NodeResult> parsed = deploy_records::parse_node_result(json);
    out.push_back(parsed.is_ok() ? parsed->status : "<" + parsed.status().message() + ">");
  }
  return out;
}

class ExecWatchTest : public ::testing::Test {
 protected:
  ExecWatchTest() : key_(std::move(SigningKey::generate()).value()), data_env_(disk_), attributes_(disk_) {
    EXPECT_TRUE(disk_.create_directory("/sandbox").is_ok());
    EXPECT_TRUE(disk_.create_directory("/data").is_ok());
  }
  ~ExecWatchTest() override { stop(); }

  void start(ExecWatchOptions options = {}) {
    store_ = std::make_unique<exec::ExecStateStore>(&data_env_, "/data");
    exec::BundleRunnerOptions runner_options{"id-web-1", "web-1", {key_.public_key_raw()}, {true, "/sandbox"}};
    exec::ExecContext context;
    context.env = &disk_;
    context.attributes = &attributes_;
    context.packages = &packages_;
    context.services = &services_;
    context.commands = &commands_;
    context.tags = &tags_;
    runner_ = std::make_unique<exec::BundleRunner>(runner_options, context, *store_, clock_);
    channel_ = std::make_unique<fakes::FakeKvChannel>();
    if (seed_channel_) seed_channel_(*channel_);
    options.node = "web-1";
    options.min_backoff = 1ms;
    options.max_backoff = 8ms;
    watch_ = std::make_unique<ExecWatch>(options, *runner_, *channel_);
    watch_->start();
  }
  void stop() {
    if (watch_) watch_->stop();
    watch_.reset();
  }

  std::string seal(uint64_t generation, const std::string& content) const {
    exec::BundleMeta meta;
    meta.node_id = "id-web-1";
    meta.node = "web-1";
    meta.generation = generation;
    meta.expires_unix_ms = clock_.unix_nanos() / 1'000'000 + 60'000;
    meta.run_id = "run-" + std::to_string(generation);
    exec::Args args;
    args.emplace("dest", std::string("/motd"));
    args.emplace("content", content);
    Bundle bundle{{Task{"motd", "copy", args, {}}}, {}};
    return exec::seal_bundle(meta, bundle, key_);
  }

  size_t results() const { return channel_->puts_to(kResultKey).size(); }

  SigningKey key_;
  fakes::ManualClock clock_;
  fakes::MemEnv disk_;
  fakes::FaultEnv data_env_;
  fakes::MemFileAttributes attributes_;
  fakes::FakePackageManager packages_;
  fakes::FakeServiceManager services_;
  fakes::FakeCommandRunner commands_;
  fakes::FakeTagSink tags_;
  std::unique_ptr<exec::ExecStateStore> store_;
  std::unique_ptr<exec::BundleRunner> runner_;
  std::unique_ptr<fakes::FakeKvChannel> channel_;
  std::function<void(fakes::FakeKvChannel&)> seed_channel_;
  std::unique_ptr<ExecWatch> watch_;
};

TEST_F(ExecWatchTest, PicksUpABundleWritesRunningThenTheResultAndBlocksAgain) {
  ExecWatchOptions options;
  options.facts = deploy_records::NodeFacts{"web-1", "Debian GNU/Linux 12 (bookworm)", 2, 4ull << 30};
  start(options);
  ASSERT_TRUE(eventually([&] { return channel_->value(kFactsKey).has_value(); }));
  Result<deploy_records::NodeFacts> facts = deploy_records::parse_node_facts(*channel_->value(kFactsKey));
  ASSERT_TRUE(facts.is_ok());
  EXPECT_EQ(facts->cpus, 2);

  channel_->write(kBundleKey, seal(1, "hello\n"));
  const uint64_t bundle_index = channel_->modify_index(kBundleKey);
  ASSERT_TRUE(eventually([&] { return results() == 2; }));
  EXPECT_THAT(statuses(channel_->puts_to(kResultKey)), ::testing::ElementsAre("running", "applied"));
  EXPECT_EQ(*disk_.read_file("/sandbox/motd"), "hello\n");
  // The next query blocks at the bundle's index, not before it.
  ASSERT_TRUE(eventually([&] {
    auto indexes = channel_->get_indexes();
    return !indexes.empty() && indexes.back() == bundle_index;
  }));
  EXPECT_EQ(watch_->bundle_index(), bundle_index);

  // A new generation is picked up as soon as it is written.
  channel_->write(kBundleKey, seal(2, "hello again\n"));
  ASSERT_TRUE(eventually([&] { return results() == 4; }));
  Result<NodeResult> last = deploy_records::parse_node_result(channel_->puts_to(kResultKey).back());
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(last->status, "applied");
  EXPECT_EQ(last->generation, 2u);
  EXPECT_EQ(last->changed, 1);
  EXPECT_EQ(*disk_.read_file("/sandbox/motd"), "hello again\n");
}

TEST_F(ExecWatchTest, ARefusedBundleIsAnsweredWithoutRunning) {
  start();
  channel_->write(kBundleKey, "garbage");
  ASSERT_TRUE(eventually([&] { return results() == 1; }));
  EXPECT_THAT(statuses(channel_->puts_to(kResultKey)), ::testing::ElementsAre("refused"));
  EXPECT_FALSE(disk_.file_exists("/sandbox/motd"));
}

TEST_F(ExecWatchTest, ARefusalIsWrittenOnceEvenWhenOtherWritesWakeTheQuery) {
  start();
  channel_->write(kBundleKey, "garbage");
  ASSERT_TRUE(eventually([&] { return results() == 1; }));
  // Something else moves the index the query sees (as a KV-wide index would).
  channel_->write(kBundleKey, "garbage");
  const uint64_t index = channel_->modify_index(kBundleKey);
  ASSERT_TRUE(eventually([&] { return watch_->bundle_index() == index; }));
  EXPECT_EQ(results(), 1u);
}

TEST_F(ExecWatchTest, SurvivesChannelErrors) {
  seed_channel_ = [&](fakes::FakeKvChannel& channel) {
    channel.write(kBundleKey, seal(1, "hello\n"));
    channel.fail_next(5);
  };
  ExecWatchOptions options;
  options.facts = deploy_records::NodeFacts{"web-1", "", 1, 1};
  start(options);
  ASSERT_TRUE(eventually([&] { return results() >= 1 && channel_->value(kResultKey).has_value() &&
                                      statuses({*channel_->value(kResultKey)}).front() == "applied"; }));
  EXPECT_EQ(channel_->failed_calls(), 5);
  EXPECT_TRUE(channel_->value(kFactsKey).has_value());

  // Errors in the middle: the next bundle still gets through.
  channel_->fail_next(3);
  channel_->write(kBundleKey, seal(2, "two\n"));
  ASSERT_TRUE(eventually([&] {
    auto value = channel_->value(kResultKey);
    if (!value) return false;
    auto parsed = deploy_records::parse_node_result(*value);
    return parsed.is_ok() && parsed->generation == 2 && parsed->status == "applied";
  }));
  EXPECT_EQ(*disk_.read_file("/sandbox/motd"), "two\n");
}

TEST_F(ExecWatchTest, AnInterruptedRunIsReportedAtStartThenRunAgain) {
  exec::ExecState state;
  state.last_generation = 2;
  state.running_generation = 3;
  state.running_hash = "h";
  state.running_run_id = "run-3";
  ASSERT_TRUE(exec::ExecStateStore(&disk_, "/data").save(state).is_ok());
  seed_channel_ = [&](fakes::FakeKvChannel& channel) { channel.write(kBundleKey, seal(3, "again\n")); };
  start();
  ASSERT_TRUE(eventually([&] { return results() == 3; }));
  EXPECT_THAT(statuses(channel_->puts_to(kResultKey)), ::testing::ElementsAre("interrupted", "running", "applied"));
  EXPECT_EQ(*disk_.read_file("/sandbox/motd"), "again\n");
}

TEST_F(ExecWatchTest, StopsAtOnceDuringALongBlockingQuery) {
  ExecWatchOptions options;
  options.wait = std::chrono::minutes(5);
  start(options);
  channel_->write(kBundleKey, seal(1, "hello\n"));
  ASSERT_TRUE(eventually([&] { return results() == 2 && channel_->get_indexes().size() >= 2; }));
  const auto before = std::chrono::steady_clock::now();
  stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
}

}  // namespace
}  // namespace roster::rpc
