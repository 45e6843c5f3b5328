#include "server/deploy/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/manual_clock.h"

namespace roster::deploy {
namespace {

using namespace std::chrono_literals;
using deploy_records::NodeDeployState;
using deploy_records::NodeResult;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

std::vector<std::string> names(const std::vector<Dispatch>& dispatches) {
  std::vector<std::string> out;
  for (const auto& each : dispatches) out.push_back(each.node);
  return out;
}

std::vector<std::string> kinds(const std::vector<DispatchEvent>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(std::string(event_kind_name(event.kind)) + (event.node.empty() ? "" : " " + event.node));
  return out;
}

class DispatcherTest : public testing::Test {
 protected:
  void make(DispatcherOptions options = {}) { dispatcher_.emplace(options, clock_); }

  void want(const std::map<std::string, std::string>& hashes, const std::string& rollout = "",
            RolloutPolicy policy = {}) {
    std::vector<DesiredNode> nodes;
    for (const auto& [name, hash] : hashes) nodes.push_back({name, hash, rollout});
    std::map<std::string, RolloutPolicy> rollouts;
    if (!rollout.empty()) rollouts[rollout] = policy;
    events_ = dispatcher_->set_desired(nodes, rollouts);
  }

  // Opens a run for whatever needs one, then takes the dispatches.
  std::vector<Dispatch> take() {
    auto unassigned = dispatcher_->unassigned();
    if (!unassigned.empty()) dispatcher_->assign_run(std::to_string(++runs_), unassigned);
    events_.clear();
    auto out = dispatcher_->take_dispatches(events_);
    for (const auto& each : out) generations_[each.node] = each.generation;
    return out;
  }

  std::vector<DispatchEvent> answer(const std::string& node, const std::string& hash, const std::string& status,
                                    std::string error = "") {
    NodeResult result;
    result.node = node;
    result.generation = generations_[node];
    result.hash = hash;
    result.status = status;
    result.error = std::move(error);
    return dispatcher_->on_result(result);
  }

  fakes::ManualClock clock_;
  std::optional<Dispatcher> dispatcher_;
  std::vector<DispatchEvent> events_;
  std::map<std::string, uint64_t> generations_;
  int runs_ = 0;
};

TEST_F(DispatcherTest, DispatchesANewNodeOnceAndSettlesWhenApplied) {
  make();
  want({{"web-1", "h1"}});
  EXPECT_THAT(dispatcher_->unassigned(), ElementsAre("web-1"));
  auto dispatches = take();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].hash, "h1");
  EXPECT_EQ(dispatches[0].run_id, "1");
  EXPECT_EQ(dispatches[0].attempt, 1);
  EXPECT_EQ(static_cast<int64_t>(dispatches[0].generation), clock_.unix_nanos() / 1'000'000);
  EXPECT_EQ(dispatcher_->node("web-1")->status, "dispatched");
  EXPECT_THAT(take(), IsEmpty()) << "one bundle in flight per node";

  auto events = answer("web-1", "h1", "applied");
  EXPECT_THAT(kinds(events), ElementsAre("applied web-1"));
  EXPECT_EQ(events[0].run_id, "1");
  EXPECT_EQ(dispatcher_->node("web-1")->status, "applied");
  EXPECT_EQ(dispatcher_->node("web-1")->applied_hash, "h1");
  want({{"web-1", "h1"}});
  EXPECT_THAT(dispatcher_->unassigned(), IsEmpty());
  EXPECT_THAT(take(), IsEmpty());
}

TEST_F(DispatcherTest, AppliedHashFromTheRecordsMeansNoDispatch) {
  make();
  NodeDeployState state;
  state.node = "web-1";
  state.applied_hash = "h1";
  state.status = "applied";
  state.generation = 5;
  EXPECT_THAT(dispatcher_->restore(state, std::nullopt), IsEmpty());
  want({{"web-1", "h1"}});
  EXPECT_THAT(take(), IsEmpty());
  want({{"web-1", "h2"}});  // retagged
  EXPECT_THAT(names(take()), ElementsAre("web-1"));
}

TEST_F(DispatcherTest, ForksBoundTheBundlesInFlight) {
  make({.forks = 2});
  want({{"a", "h"}, {"b", "h"}, {"c", "h"}, {"d", "h"}, {"e", "h"}});
  EXPECT_THAT(names(take()), ElementsAre("a", "b"));
  EXPECT_THAT(take(), IsEmpty());
  answer("a", "h", "applied");
  EXPECT_THAT(names(take()), ElementsAre("c"));
  answer("b", "h", "failed", "boom");
  answer("c", "h", "applied");
  EXPECT_THAT(names(take()), ElementsAre("d", "e"));
  EXPECT_EQ(dispatcher_->in_flight(), 2);
}

TEST_F(DispatcherTest, SerialCountGoesInBatchesInNameOrder) {
  make();
  want({{"e", "h"}, {"d", "h"}, {"c", "h"}, {"b", "h"}, {"a", "h"}}, "web", {{false, 2}, 0, 5});
  EXPECT_THAT(names(take()), ElementsAre("a", "b"));
  answer("a", "h", "applied");
  EXPECT_THAT(take(), IsEmpty()) << "b is still running";
  answer("b", "h", "applied");
  EXPECT_THAT(names(take()), ElementsAre("c", "d"));
  answer("c", "h", "applied");
  answer("d", "h", "applied");
  EXPECT_THAT(names(take()), ElementsAre("e"));
}

TEST_F(DispatcherTest, SerialPercentIsOfTheNodesThePlaybookTargets) {
  make();
  std::map<std::string, std::string> hashes;
  for (char c = 'a'; c <= 'j'; ++c) hashes[std::string(1, c)] = "h";
  want(hashes, "web", {{true, 30}, 0, 10});
  EXPECT_THAT(names(take()), ElementsAre("a", "b", "c"));
  for (const char* n : {"a", "b", "c"}) answer(n, "h", "applied");
  EXPECT_THAT(names(take()), ElementsAre("d", "e", "f"));
}

TEST_F(DispatcherTest, ASerialPercentBelowOneNodeStillMovesOneAtATime) {
  make();
  want({{"a", "h"}, {"b", "h"}}, "web", {{true, 5}, 0, 10});
  EXPECT_THAT(names(take()), ElementsAre("a"));
}

TEST_F(DispatcherTest, ABatchFailingBeyondMaxFailPercentageStopsTheRollout) {
  make();
  want({{"a", "h"}, {"b", "h"}, {"c", "h"}, {"d", "h"}}, "web", {{false, 2}, 0, 4});
  EXPECT_THAT(names(take()), ElementsAre("a", "b"));
  answer("a", "h", "failed", "task 'x': boom");
  auto events = answer("b", "h", "applied");
  EXPECT_THAT(kinds(events), ElementsAre("applied b", "rollout stopped", "skipped c", "skipped d"));
  EXPECT_THAT(events[1].error, HasSubstr("1 of 2 nodes failed"));
  EXPECT_TRUE(dispatcher_->rollout_stopped("web"));
  clock_.advance(5min);  // a's retry is due, but the rollout is stopped
  dispatcher_->advance();
  EXPECT_THAT(dispatcher_->unassigned(), IsEmpty());
  EXPECT_THAT(take(), IsEmpty());
  // New content restarts it.
  want({{"a", "h2"}, {"b", "h2"}, {"c", "h2"}, {"d", "h2"}}, "web", {{false, 2}, 0, 4});
  EXPECT_FALSE(dispatcher_->rollout_stopped("web"));
  EXPECT_THAT(names(take()), ElementsAre("a", "b"));
}

TEST_F(DispatcherTest, MaxFailPercentageThatAllowsItKeepsGoingEvenAfterAWholeBatchFailed) {
  make();
  want({{"a", "h"}, {"b", "h"}, {"c", "h"}, {"d", "h"}}, "web", {{false, 2}, 100, 4});
  EXPECT_THAT(names(take()), ElementsAre("a", "b"));
  answer("a", "h", "failed");
  answer("b", "h", "refused", "signed by no trusted key");
  EXPECT_FALSE(dispatcher_->rollout_stopped("web"));
  EXPECT_THAT(names(take()), ElementsAre("c", "d"));
}

TEST_F(DispatcherTest, HalfABatchFailingIsWithinFiftyPercent) {
  make();
  want({{"a", "h"}, {"b", "h"}, {"c", "h"}}, "web", {{false, 2}, 50, 3});
  take();
  answer("a", "h", "failed");
  answer("b", "h", "applied");
  EXPECT_FALSE(dispatcher_->rollout_stopped("web"));
  EXPECT_THAT(names(take()), ElementsAre("c"));
}

TEST_F(DispatcherTest, AFailedNodeIsRetriedWithExponentialBackoff) {
  make({.retry_initial = 1s, .retry_max = 4s});
  want({{"a", "h"}});
  take();
  auto events = answer("a", "h", "failed", "task 'x': boom");
  EXPECT_THAT(kinds(events), ElementsAre("failed a"));
  EXPECT_EQ(events[0].error, "task 'x': boom");
  EXPECT_EQ(dispatcher_->node("a")->status, "failed");
  for (auto [wait, attempt] : std::vector<std::pair<std::chrono::milliseconds, int>>{{1s, 2}, {2s, 3}, {4s, 4}, {4s, 5}}) {
    clock_.advance(wait - 1ms);
    EXPECT_THAT(take(), IsEmpty());
    EXPECT_EQ(*dispatcher_->next_wakeup(), clock_.now() + 1ms);
    clock_.advance(1ms);
    auto dispatches = take();
    ASSERT_EQ(dispatches.size(), 1u);
    EXPECT_EQ(dispatches[0].attempt, attempt);
    answer("a", "h", "failed");
  }
}

TEST_F(DispatcherTest, ANewDesiredHashIsRetriedAtOnce) {
  make();
  want({{"a", "h1"}});
  take();
  answer("a", "h1", "failed");
  want({{"a", "h2"}});
  EXPECT_THAT(names(take()), ElementsAre("a"));
}

TEST_F(DispatcherTest, NoAnswerWithinTheTimeoutCountsAsFailed) {
  make({.dispatch_timeout = 60s});
  want({{"a", "h"}});
  take();
  clock_.advance(59s);
  EXPECT_THAT(dispatcher_->advance(), IsEmpty());
  clock_.advance(1s);
  auto events = dispatcher_->advance();
  ASSERT_THAT(kinds(events), ElementsAre("timed out a"));
  EXPECT_THAT(events[0].error, HasSubstr("no answer from its agent within 1m0s"));
  EXPECT_EQ(dispatcher_->node("a")->status, "failed");
  EXPECT_FALSE(dispatcher_->node("a")->in_flight);
  // A late answer still counts: the node did apply it.
  EXPECT_THAT(kinds(answer("a", "h", "applied")), ElementsAre("applied a"));
  EXPECT_EQ(dispatcher_->node("a")->status, "applied");
}

TEST_F(DispatcherTest, RunningRestartsTheTimeout) {
  make({.dispatch_timeout = 60s});
  want({{"a", "h"}});
  take();
  clock_.advance(50s);
  answer("a", "h", "running");
  clock_.advance(50s);
  EXPECT_THAT(dispatcher_->advance(), IsEmpty());
  clock_.advance(10s);
  EXPECT_THAT(kinds(dispatcher_->advance()), ElementsAre("timed out a"));
}

TEST_F(DispatcherTest, ANewerHashWhileOneIsInFlightIsCoalesced) {
  make();
  want({{"a", "h1"}});
  const uint64_t first = take()[0].generation;
  want({{"a", "h2"}});
  want({{"a", "h3"}});
  EXPECT_THAT(take(), IsEmpty());
  EXPECT_EQ(dispatcher_->node("a")->status, "dispatched");
  answer("a", "h1", "applied");
  EXPECT_EQ(dispatcher_->node("a")->status, "pending");
  auto dispatches = take();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].hash, "h3") << "h2 was never sent";
  EXPECT_GT(dispatches[0].generation, first);
}

TEST_F(DispatcherTest, StaleAnswersAreIgnored) {
  make();
  want({{"a", "h1"}});
  take();
  NodeResult old;
  old.node = "a";
  old.generation = generations_["a"] - 1;
  old.status = "applied";
  old.hash = "h0";
  EXPECT_THAT(dispatcher_->on_result(old), IsEmpty());
  EXPECT_TRUE(dispatcher_->node("a")->in_flight);
}

TEST_F(DispatcherTest, TheLoopGuardHoldsANodeDispatchedTooOften) {
  make({.loop_limit = 3, .loop_window = 10min});
  for (int i = 0; i < 3; ++i) {
    want({{"a", "h" + std::to_string(i)}});
    ASSERT_EQ(take().size(), 1u);
    answer("a", "h" + std::to_string(i), "applied");
    clock_.advance(1min);
  }
  want({{"a", "oscillating"}});
  EXPECT_THAT(take(), IsEmpty());
  ASSERT_THAT(kinds(events_), ElementsAre("held a"));
  EXPECT_THAT(events_[0].error, HasSubstr("dispatched 3 times in the last 10m0s"));
  EXPECT_EQ(dispatcher_->node("a")->status, "held");
  want({{"a", "again"}});
  EXPECT_THAT(take(), IsEmpty()) << "a new hash does not release a held node";
  // Released when the first dispatch (3 minutes ago) leaves the window.
  EXPECT_EQ(*dispatcher_->next_wakeup(), clock_.now() + 7min);
  clock_.advance(7min);
  EXPECT_THAT(kinds(dispatcher_->advance()), ElementsAre("released a"));
  auto dispatches = take();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].hash, "again");
}

TEST_F(DispatcherTest, ResumesAnUnansweredDispatchUntilItsOriginalDeadline) {
  make({.dispatch_timeout = 60s});
  NodeDeployState state;
  state.node = "a";
  state.hash = "h1";
  state.status = "dispatched";
  state.generation = 42;
  state.run_id = "000003";
  state.updated_unix_ms = clock_.unix_nanos() / 1'000'000 - 20'000;
  EXPECT_THAT(dispatcher_->restore(state, std::nullopt), IsEmpty());
  want({{"a", "h1"}});
  EXPECT_THAT(take(), IsEmpty()) << "not pushed again before its timeout";
  clock_.advance(39s);
  EXPECT_THAT(dispatcher_->advance(), IsEmpty());
  clock_.advance(1s);
  auto events = dispatcher_->advance();
  ASSERT_THAT(kinds(events), ElementsAre("timed out a"));
  EXPECT_EQ(events[0].run_id, "000003");
}

TEST_F(DispatcherTest, ResumeAppliesAnAnswerThatCameWhileNobodyWatched) {
  make();
  NodeDeployState state;
  state.node = "a";
  state.hash = "h1";
  state.status = "dispatched";
  state.generation = 42;
  state.run_id = "000003";
  state.updated_unix_ms = clock_.unix_nanos() / 1'000'000;
  NodeResult result;
  result.node = "a";
  result.generation = 42;
  result.hash = "h1";
  result.status = "applied";
  result.changed = 2;
  auto events = dispatcher_->restore(state, result);
  ASSERT_THAT(kinds(events), ElementsAre("applied a"));
  EXPECT_EQ(events[0].run_id, "000003");
  want({{"a", "h1"}});
  EXPECT_THAT(take(), IsEmpty());
}

TEST_F(DispatcherTest, GenerationsOnlyGrowEvenPastTheClock) {
  make();
  NodeDeployState state;
  state.node = "a";
  state.status = "applied";
  state.applied_hash = "h0";
  state.generation = static_cast<uint64_t>(clock_.unix_nanos() / 1'000'000) + 1'000'000;
  (void)dispatcher_->restore(state, std::nullopt);
  want({{"a", "h1"}});
  auto dispatches = take();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].generation, state.generation + 1);
}

TEST_F(DispatcherTest, ANodeNoLongerWantedLeavesItsRun) {
  make({.forks = 1});
  want({{"a", "h"}, {"b", "h"}});
  EXPECT_THAT(names(take()), ElementsAre("a"));
  want({{"a", "h"}});
  EXPECT_THAT(kinds(events_), ElementsAre("skipped b"));
}

TEST_F(DispatcherTest, AWriteFailureIsAFailedAttempt) {
  make();
  want({{"a", "h"}});
  take();
  auto events = dispatcher_->on_write_failed("a", "connection refused");
  ASSERT_THAT(kinds(events), ElementsAre("failed a"));
  EXPECT_THAT(events[0].error, HasSubstr("could not write the bundle: connection refused"));
}

}  // namespace
}  // namespace roster::deploy

namespace roster::deploy {
namespace {

TEST_F(DispatcherTest, ResumeKeepsTheAttemptCountAndTheRestOfTheBackoff) {
  make();
  NodeDeployState state;
  state.node = "a";
  state.hash = "h1";
  state.status = "failed";
  state.attempts = 3;
  state.generation = 42;
  state.updated_unix_ms = clock_.unix_nanos() / 1'000'000 - 1000;  // failed a second ago
  EXPECT_THAT(dispatcher_->restore(state, std::nullopt), IsEmpty());
  want({{"a", "h1"}});
  clock_.advance(2999ms);  // backoff after 3 attempts: 4 s
  EXPECT_THAT(take(), IsEmpty());
  clock_.advance(1ms);
  auto dispatches = take();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].attempt, 4);
}

}  // namespace
}  // namespace roster::deploy

namespace roster::deploy {
namespace {

TEST_F(DispatcherTest, AResumedBundleInFlightCountsAsTheCurrentBatch) {
  make();
  NodeDeployState state;
  state.node = "a";
  state.hash = "h1";
  state.status = "dispatched";
  state.generation = 42;
  state.updated_unix_ms = clock_.unix_nanos() / 1'000'000;
  (void)dispatcher_->restore(state, std::nullopt);
  want({{"a", "h1"}, {"b", "h1"}, {"c", "h1"}}, "web", {{false, 1}, 0, 3});
  EXPECT_THAT(take(), IsEmpty()) << "serial 1, and a is still running";
  generations_["a"] = 42;
  answer("a", "h1", "applied");
  EXPECT_THAT(names(take()), ElementsAre("b"));
}

}  // namespace
}  // namespace roster::deploy

namespace roster::deploy {
namespace {

TEST_F(DispatcherTest, ADueRetryWaitingForAForkSetsNoWakeupInThePast) {
  make({.forks = 1});
  want({{"a", "h"}, {"b", "h"}});
  EXPECT_THAT(names(take()), ElementsAre("a"));
  answer("a", "h", "failed");
  EXPECT_THAT(names(take()), ElementsAre("b"));
  clock_.advance(10s);  // a's retry is due; b holds the only fork
  EXPECT_THAT(take(), IsEmpty());
  auto next = dispatcher_->next_wakeup();
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, clock_.now()) << "only b's deadline";
}

}  // namespace
}  // namespace roster::deploy
