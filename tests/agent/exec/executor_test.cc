// The run as a whole: ordering, skipping after a failure, handlers (once, at
// the end, pending across a failed run), check mode's unknown, and exec off
// by default.

#include <gmock/gmock.h>

#include "tests/agent/exec/sandbox.h"

namespace roster::exec {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

class ExecutorTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    commands_.programs["false"] = [](const CommandRequest&) { return CommandOutput{1, false, "", "nope"}; };
    commands_.programs["true"] = [](const CommandRequest&) { return CommandOutput{}; };
  }
  Task restart_nginx() { return task("restart nginx", "service", {{"name", "nginx"}, {"state", "restarted"}}); }
  Task config(const std::string& content) {
    return task("nginx.conf", "copy", {{"dest", "/nginx.conf"}, {"content", content}}, {"restart nginx"});
  }
};

INSTANTIATE_TEST_SUITE_P(Disks, ExecutorTest, testing::Values("mem", "posix"), disk_name);

TEST_P(ExecutorTest, AFailedTaskStopsTheRestWhichAreSkipped) {
  Bundle bundle{{
      task("one", "tag", {{"set", "a=1"}}),
      task("boom", "command", {{"argv", "false"}}),
      task("three", "tag", {{"set", "b=2"}}),
  }, {}};
  RunReport report = run(bundle);
  EXPECT_TRUE(report.failed);
  ASSERT_EQ(report.tasks.size(), 3u);
  EXPECT_EQ(report.tasks[0].status, TaskStatus::changed);
  EXPECT_EQ(report.tasks[1].status, TaskStatus::failed);
  EXPECT_EQ(report.tasks[2].status, TaskStatus::skipped);
  EXPECT_FALSE(tags_.tags().contains("b"));
}

TEST_P(ExecutorTest, NotifiedHandlersRunOnceAtTheEnd) {
  Bundle bundle{{
      config("worker_processes 2;\n"),
      task("site", "copy", {{"dest", "/site.conf"}, {"content", "x\n"}}, {"restart nginx"}),
      task("start", "service", {{"name", "nginx"}, {"state", "started"}}),
  }, {restart_nginx()}};
  RunReport report = run(bundle);
  EXPECT_FALSE(report.failed);
  ASSERT_EQ(report.handlers.size(), 1u);
  EXPECT_EQ(report.handlers[0].status, TaskStatus::changed);
  EXPECT_THAT(services_.calls, ElementsAre("start nginx", "restart nginx"));  // after the last task, once
  EXPECT_TRUE(report.pending_handlers.empty());

  RunReport again = run(bundle);
  EXPECT_TRUE(again.handlers.empty());  // nothing changed, nothing notified
  EXPECT_EQ(again.changed, 0);
  EXPECT_EQ(services_.calls.size(), 2u);
}

TEST_P(ExecutorTest, HandlersStayPendingAfterAFailureAndRunOnTheNextSuccessfulApply) {
  Bundle failing{{config("v1\n"), task("boom", "command", {{"argv", "false"}})}, {restart_nginx()}};
  RunReport first = run(failing);
  EXPECT_TRUE(first.failed);
  EXPECT_TRUE(first.handlers.empty());
  EXPECT_THAT(first.pending_handlers, ElementsAre("restart nginx"));
  EXPECT_TRUE(services_.calls.empty());

  // Still failing: the config no longer changes, but the handler stays owed.
  RunReport second = run(failing, RunMode::apply, first.pending_handlers);
  EXPECT_EQ(second.tasks[0].status, TaskStatus::ok);
  EXPECT_THAT(second.pending_handlers, ElementsAre("restart nginx"));
  EXPECT_TRUE(services_.calls.empty());

  Bundle fixed{{config("v1\n"), task("fine", "command", {{"argv", "true"}})}, {restart_nginx()}};
  RunReport third = run(fixed, RunMode::apply, second.pending_handlers);
  EXPECT_FALSE(third.failed);
  EXPECT_EQ(third.tasks[0].status, TaskStatus::ok);
  ASSERT_EQ(third.handlers.size(), 1u);
  EXPECT_TRUE(third.pending_handlers.empty());
  EXPECT_THAT(services_.calls, ElementsAre("restart nginx"));
}

TEST_P(ExecutorTest, AFailedInstallFailsTheTaskAndKeepsTheHandlerOwed) {
  packages_.fail_next_change(Status::unavailable("apt lock held"));
  Bundle bundle{{config("v1\n"), task("pkg", "package", {{"name", "nginx"}}), task("t", "tag", {{"set", "a=1"}})},
                {restart_nginx()}};
  RunReport report = run(bundle);
  EXPECT_TRUE(report.failed);
  EXPECT_EQ(report.tasks[1].status, TaskStatus::failed);
  EXPECT_THAT(report.tasks[1].message, HasSubstr("apt lock held"));
  EXPECT_EQ(report.tasks[2].status, TaskStatus::skipped);
  EXPECT_THAT(report.pending_handlers, ElementsAre("restart nginx"));

  RunReport retry = run(bundle, RunMode::apply, report.pending_handlers);
  EXPECT_FALSE(retry.failed);
  EXPECT_TRUE(packages_.has("nginx"));
  EXPECT_THAT(services_.calls, ElementsAre("restart nginx"));
}

TEST_P(ExecutorTest, AFailingHandlerStaysPending) {
  Bundle bundle{{task("t", "tag", {{"set", "a=1"}}, {"bad", "restart nginx"})},
                {task("bad", "command", {{"argv", "false"}}), restart_nginx()}};
  RunReport report = run(bundle);
  EXPECT_TRUE(report.failed);
  EXPECT_THAT(report.pending_handlers, ElementsAre("bad", "restart nginx"));
  EXPECT_TRUE(services_.calls.empty());

  services_.fail_next_change(Status::internal("Job for nginx.service failed"));
  Bundle restart_only{{task("t", "tag", {{"set", "a=2"}}, {"restart nginx"})}, {restart_nginx()}};
  RunReport failed_restart = run(restart_only);
  EXPECT_TRUE(failed_restart.failed);
  EXPECT_THAT(failed_restart.pending_handlers, ElementsAre("restart nginx"));
}

TEST_P(ExecutorTest, CheckModeReportsUnknownAfterAPredictedChange) {
  Bundle bundle{{
      config("v2\n"),
      task("reload", "command", {{"argv", "true"}}),
      task("bounce", "service", {{"name", "nginx"}, {"state", "restarted"}}),
      task("start", "service", {{"name", "nginx"}, {"state", "started"}}),
  }, {restart_nginx()}};
  RunReport report = run(bundle, RunMode::check, {});
  ASSERT_EQ(report.tasks.size(), 4u);
  EXPECT_EQ(report.tasks[0].status, TaskStatus::changed);
  EXPECT_EQ(report.tasks[1].status, TaskStatus::unknown);
  EXPECT_EQ(report.tasks[2].status, TaskStatus::unknown);
  EXPECT_EQ(report.tasks[3].status, TaskStatus::changed);  // predictable: nginx is not running
  ASSERT_EQ(report.handlers.size(), 1u);
  EXPECT_EQ(report.handlers[0].status, TaskStatus::unknown);
  EXPECT_FALSE(report.failed);
  EXPECT_TRUE(commands_.requests.empty());
  EXPECT_TRUE(services_.calls.empty());
  EXPECT_EQ(kind("/nginx.conf"), FileKind::missing);

  // With nothing changing ahead of it, a command is simply "would run".
  RunReport alone = run(Bundle{{task("reload", "command", {{"argv", "true"}})}, {}}, RunMode::check);
  EXPECT_EQ(alone.tasks[0].status, TaskStatus::changed);
}

TEST_P(ExecutorTest, CheckModeTurnsAFailureAfterAChangeIntoUnknown) {
  Bundle bundle{{
      task("pkg", "package", {{"name", "nginx"}}),
      task("tune", "lineinfile", {{"path", "/etc/nginx/nginx.conf"}, {"line", "worker_processes 2;"}}),
  }, {}};
  RunReport report = run(bundle, RunMode::check);
  EXPECT_EQ(report.tasks[0].status, TaskStatus::changed);
  EXPECT_EQ(report.tasks[1].status, TaskStatus::unknown);
  EXPECT_THAT(report.tasks[1].message, HasSubstr("does not exist"));
  EXPECT_FALSE(report.failed);
}

TEST_P(ExecutorTest, CheckModeKeepsPendingHandlers) {
  Bundle bundle{{task("t", "tag", {{"set", "a=1"}})}, {restart_nginx()}};
  RunReport report = run(bundle, RunMode::check, {"restart nginx"});
  EXPECT_THAT(report.pending_handlers, ElementsAre("restart nginx"));
  EXPECT_TRUE(services_.calls.empty());
}

TEST_P(ExecutorTest, ExecIsOffUnlessEnabled) {
  EXPECT_FALSE(ExecOptions{}.enabled);
  Bundle bundle{{task("conf", "copy", {{"dest", "/x"}, {"content", "x"}})}, {}};
  Result<RunReport> report = executor(false).run(bundle, {}, RunMode::apply);
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(report.status().code(), StatusCode::permission_denied);
  EXPECT_THAT(report.status().message(), HasSubstr("exec is disabled"));
  EXPECT_EQ(kind("/x"), FileKind::missing);
  EXPECT_FALSE(executor(false).run(bundle, {}, RunMode::check).is_ok());
}

TEST_P(ExecutorTest, AMissingExecRootIsRefused) {
  Executor missing({true, root_ + "/not-there"}, context());
  Result<RunReport> report = missing.run(Bundle{{task("t", "tag", {{"set", "a=1"}})}, {}}, {}, RunMode::apply);
  ASSERT_FALSE(report.is_ok());
  EXPECT_THAT(report.status().message(), HasSubstr("is not a directory"));
  EXPECT_TRUE(tags_.tags().empty());
}

TEST_P(ExecutorTest, MalformedBundlesAreRefusedBeforeAnythingRuns) {
  auto refused = [this](const Bundle& bundle, const std::vector<std::string>& pending) {
    Result<RunReport> report = executor().run(bundle, pending, RunMode::apply);
    EXPECT_FALSE(report.is_ok());
    return report.is_ok() ? std::string() : report.status().message();
  };
  EXPECT_THAT(refused(Bundle{{task("t", "tag", {{"set", "a=1"}}), task("x", "shell", {})}, {}}, {}),
              HasSubstr("unknown module 'shell'"));
  EXPECT_THAT(refused(Bundle{{task("t", "tag", {{"set", "a=1"}}, {"missing"})}, {}}, {}),
              HasSubstr("notifies 'missing'"));
  EXPECT_THAT(refused(Bundle{{}, {}}, {"gone"}), HasSubstr("pending handler 'gone'"));
  EXPECT_TRUE(tags_.tags().empty());
}

}  // namespace
}  // namespace roster::exec
