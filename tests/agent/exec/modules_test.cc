// Each module on both disks: applying a task twice reports changed, then ok;
// check mode changes nothing and shows the diff; paths stay under the exec root.

#include <gmock/gmock.h>

#include "agent/exec/module.h"
#include "tests/agent/exec/sandbox.h"
#include "tests/fakes/fault_env.h"

namespace roster::exec {
namespace {

using testing::HasSubstr;

class ModulesTest : public SandboxTest {};

INSTANTIATE_TEST_SUITE_P(Disks, ModulesTest, testing::Values("mem", "posix"), disk_name);

// ---- idempotence, one test per module ----

TEST_P(ModulesTest, FileDirectoryIsIdempotent) {
  expect_changed_then_ok(task("app dir", "file", {{"path", "/etc/app"}, {"state", "directory"}, {"mode", "0750"}}));
  EXPECT_EQ(kind("/etc/app"), FileKind::directory);
  EXPECT_EQ(mode("/etc/app"), 0750u);
}

TEST_P(ModulesTest, FileModeIsIdempotent) {
  write("/secret", "x");
  expect_changed_then_ok(task("mode", "file", {{"path", "/secret"}, {"state", "file"}, {"mode", "0600"}}));
  EXPECT_EQ(mode("/secret"), 0600u);
  EXPECT_EQ(read("/secret"), "x");
}

TEST_P(ModulesTest, FileAbsentIsIdempotent) {
  write("/old.conf", "x");
  expect_changed_then_ok(task("rm", "file", {{"path", "/old.conf"}, {"state", "absent"}}));
  EXPECT_EQ(kind("/old.conf"), FileKind::missing);
}

TEST_P(ModulesTest, FileLinkIsIdempotentAndStaysUnderTheRoot) {
  write("/target", "x");
  expect_changed_then_ok(task("ln", "file", {{"path", "/current"}, {"state", "link"}, {"src", "/target"}}));
  EXPECT_EQ(kind("/current"), FileKind::link);
  Result<std::string> target = attributes_->read_link(path("/current"));
  ASSERT_TRUE(target.is_ok());
  EXPECT_EQ(*target, path("/target"));
}

TEST_P(ModulesTest, FileOwnerIsLeftAloneWhenNotRoot) {
  write("/f", "x");
  TaskResult result = run_one(task("own", "file", {{"path", "/f"}, {"owner", "www-data"}}));
  EXPECT_EQ(result.status, TaskStatus::ok);
  EXPECT_THAT(result.message, HasSubstr("not running as root"));
}

TEST_P(ModulesTest, FileOwnerIsIdempotentAsRoot) {
  if (GetParam() == "posix") GTEST_SKIP() << "changing owners on a real disk needs root";
  running_as_root_ = true;
  write("/f", "x");
  expect_changed_then_ok(task("own", "file", {{"path", "/f"}, {"owner", "www-data"}}));
  EXPECT_EQ(*attributes_->owner(path("/f")), "www-data");
}

TEST_P(ModulesTest, FileStateFileDoesNotCreate) {
  TaskResult result = run_one(task("f", "file", {{"path", "/nope"}, {"state", "file"}}));
  EXPECT_EQ(result.status, TaskStatus::failed);
  EXPECT_THAT(result.message, HasSubstr("does not exist"));
}

TEST_P(ModulesTest, CopyIsIdempotent) {
  make_directory("/etc");
  expect_changed_then_ok(task("conf", "copy", {{"dest", "/etc/app.conf"}, {"content", "a=1\n"}, {"mode", "0640"}}));
  EXPECT_EQ(read("/etc/app.conf"), "a=1\n");
  EXPECT_EQ(mode("/etc/app.conf"), 0640u);
}

TEST_P(ModulesTest, CopyReplacingContentKeepsTheMode) {
  write("/app.conf", "old\n");
  ASSERT_TRUE(attributes_->set_mode(path("/app.conf"), 0600).is_ok());
  expect_changed_then_ok(task("conf", "copy", {{"dest", "/app.conf"}, {"content", "new\n"}}));
  EXPECT_EQ(read("/app.conf"), "new\n");
  EXPECT_EQ(mode("/app.conf"), 0600u);
}

TEST_P(ModulesTest, TemplateIsIdempotentAndReportedAsTemplate) {
  make_directory("/etc");
  Task rendered = task("site", "template", {{"dest", "/etc/site.conf"}, {"content", "server web-7;\n"}});
  TaskResult first = run_one(rendered);
  EXPECT_EQ(first.module, "template");
  EXPECT_THAT(first.message, HasSubstr("template"));
  EXPECT_EQ(run_one(rendered).status, TaskStatus::ok);
  EXPECT_EQ(read("/etc/site.conf"), "server web-7;\n");
}

TEST_P(ModulesTest, LineInFileReplaceIsIdempotent) {
  write("/sshd_config", "Port 22\nPermitRootLogin yes\n");
  expect_changed_then_ok(
      task("no root", "lineinfile",
           {{"path", "/sshd_config"}, {"regexp", "^PermitRootLogin"}, {"line", "PermitRootLogin no"}}));
  EXPECT_EQ(read("/sshd_config"), "Port 22\nPermitRootLogin no\n");
}

TEST_P(ModulesTest, LineInFileAppendAndAbsentAreIdempotent) {
  write("/hosts", "127.0.0.1 localhost\n");
  expect_changed_then_ok(task("add", "lineinfile", {{"path", "/hosts"}, {"line", "10.0.0.7 web-7"}}));
  EXPECT_EQ(read("/hosts"), "127.0.0.1 localhost\n10.0.0.7 web-7\n");
  expect_changed_then_ok(task("drop", "lineinfile", {{"path", "/hosts"}, {"regexp", "web-7$"}, {"state", "absent"}}));
  EXPECT_EQ(read("/hosts"), "127.0.0.1 localhost\n");
}

TEST_P(ModulesTest, LineInFileRejectsABadRegexp) {
  write("/f", "x\n");
  TaskResult result = run_one(task("bad", "lineinfile", {{"path", "/f"}, {"regexp", "(["}, {"line", "y"}}));
  EXPECT_EQ(result.status, TaskStatus::failed);
  EXPECT_THAT(result.message, HasSubstr("bad regexp"));
}

TEST_P(ModulesTest, CommandWithCreatesIsIdempotent) {
  commands_.programs["make-marker"] = [this](const CommandRequest& request) {
    EXPECT_EQ(request.working_directory, root_);
    EXPECT_TRUE(write_file_atomically(*env_, path("/marker"), "done").is_ok());
    return CommandOutput{0, false, "made", ""};
  };
  expect_changed_then_ok(task("init", "command", {{"argv", StringList{"make-marker"}}, {"creates", "/marker"}}));
  EXPECT_EQ(commands_.requests.size(), 1u);
}

TEST_P(ModulesTest, PackageIsIdempotent) {
  expect_changed_then_ok(task("web", "package", {{"name", StringList{"nginx", "curl"}}}));
  EXPECT_TRUE(packages_.has("nginx"));
  EXPECT_TRUE(packages_.has("curl"));
  expect_changed_then_ok(task("no telnet", "package", {{"name", "curl"}, {"state", "absent"}}));
  EXPECT_FALSE(packages_.has("curl"));
}

TEST_P(ModulesTest, ServiceIsIdempotent) {
  expect_changed_then_ok(task("nginx", "service", {{"name", "nginx"}, {"state", "started"}, {"enabled", true}}));
  EXPECT_THAT(services_.calls, testing::ElementsAre("start nginx", "enable nginx"));
  expect_changed_then_ok(task("stop", "service", {{"name", "nginx"}, {"state", "stopped"}}));
}

// Like Ansible's, a reload is an action, not a state: it reports changed every time it runs,
// which is why playbooks put it in a handler.
TEST_P(ModulesTest, ServiceReloadAlwaysActs) {
  Task reload = task("reload", "service", {{"name", "nginx"}, {"state", "reloaded"}});
  EXPECT_EQ(run_one(reload).status, TaskStatus::changed);
  EXPECT_EQ(run_one(reload).status, TaskStatus::changed);
  EXPECT_THAT(services_.calls, testing::ElementsAre("reload nginx", "reload nginx"));
  EXPECT_EQ(run_one(task("bad", "service", {{"name", "nginx"}, {"state", "bounced"}})).status, TaskStatus::failed);
}

TEST_P(ModulesTest, TagIsIdempotent) {
  expect_changed_then_ok(task("stage", "tag", {{"set", StringList{"stage=base-done"}}}));
  EXPECT_EQ(tags_.tags().at("stage"), "base-done");
  EXPECT_EQ(tags_.writes, 1);
  expect_changed_then_ok(task("unstage", "tag", {{"remove", StringList{"stage"}}}));
  EXPECT_TRUE(tags_.tags().empty());
}

TEST_P(ModulesTest, AWholeBundleAppliedTwiceChangesNothingTheSecondTime) {
  commands_.programs["init-db"] = [this](const CommandRequest&) {
    EXPECT_TRUE(write_file_atomically(*env_, path("/srv/db/.initialised"), "").is_ok());
    return CommandOutput{};
  };
  Bundle bundle{{
      task("dir", "file", {{"path", "/srv/db"}, {"state", "directory"}}),
      task("conf", "copy", {{"dest", "/srv/db/db.conf"}, {"content", "port=5432\n"}}),
      task("site", "template", {{"dest", "/srv/db/site.conf"}, {"content", "name=db-1\n"}}),
      // Not db.conf: a copy and a lineinfile on one file fight on every run
      // (roster-deploy validate refuses such bundles).
      task("line", "lineinfile", {{"path", "/srv/db/hba.conf"}, {"line", "host all all"}, {"create", true}}),
      task("init", "command", {{"argv", StringList{"init-db"}}, {"creates", "/srv/db/.initialised"}}),
      task("pkg", "package", {{"name", "postgresql"}}),
      task("svc", "service", {{"name", "postgresql"}, {"state", "started"}, {"enabled", true}}),
      task("tag", "tag", {{"set", StringList{"stage=db-done"}}}),
  }, {}};
  RunReport first = run(bundle);
  EXPECT_FALSE(first.failed);
  EXPECT_EQ(first.changed, 8);
  RunReport second = run(bundle);
  EXPECT_FALSE(second.failed);
  EXPECT_EQ(second.changed, 0);
  for (const TaskResult& result : second.tasks) EXPECT_EQ(result.status, TaskStatus::ok) << result.name;
}

// ---- check mode ----

TEST_P(ModulesTest, CheckModeShowsTheDiffAndChangesNothing) {
  write("/sshd_config", "Port 22\nPermitRootLogin yes\n");
  Bundle bundle{{
      task("dir", "file", {{"path", "/etc/app"}, {"state", "directory"}}),
      task("conf", "copy", {{"dest", "/new.conf"}, {"content", "a=1\n"}}),
      task("line", "lineinfile",
           {{"path", "/sshd_config"}, {"regexp", "^PermitRootLogin"}, {"line", "PermitRootLogin no"}}),
      task("pkg", "package", {{"name", "nginx"}}),
      task("svc", "service", {{"name", "nginx"}, {"state", "started"}}),
      task("tag", "tag", {{"set", StringList{"role=web"}}}),
  }, {}};
  RunReport report = run(bundle, RunMode::check);
  ASSERT_EQ(report.tasks.size(), 6u);
  for (const TaskResult& result : report.tasks) EXPECT_EQ(result.status, TaskStatus::changed) << result.name;
  EXPECT_THAT(report.tasks[1].diff, HasSubstr("+a=1"));
  EXPECT_THAT(report.tasks[2].diff, HasSubstr("-PermitRootLogin yes\n+PermitRootLogin no\n"));
  EXPECT_THAT(report.tasks[3].diff, HasSubstr("+nginx"));
  EXPECT_THAT(report.tasks[5].diff, HasSubstr("+role=web"));

  EXPECT_EQ(kind("/etc/app"), FileKind::missing);
  EXPECT_EQ(kind("/new.conf"), FileKind::missing);
  EXPECT_EQ(read("/sshd_config"), "Port 22\nPermitRootLogin yes\n");
  EXPECT_TRUE(packages_.calls.empty());
  EXPECT_TRUE(services_.calls.empty());
  EXPECT_EQ(tags_.writes, 0);

  run(bundle);
  RunReport after = run(bundle, RunMode::check);
  EXPECT_EQ(after.changed, 0);
  for (const TaskResult& result : after.tasks) EXPECT_TRUE(result.diff.empty()) << result.name;
}

TEST_P(ModulesTest, CheckModeDoesNotRunCommands) {
  commands_.programs["touch-it"] = [](const CommandRequest&) { return CommandOutput{}; };
  TaskResult result = run_one(task("cmd", "command", {{"argv", StringList{"touch-it"}}}), RunMode::check);
  EXPECT_EQ(result.status, TaskStatus::changed);
  EXPECT_THAT(result.message, HasSubstr("would run"));
  EXPECT_TRUE(commands_.requests.empty());
}

// ---- the exec root ----

TEST_P(ModulesTest, EveryPathIsUnderTheExecRoot) {
  TaskResult result = run_one(task("conf", "copy", {{"dest", "/app.conf"}, {"content", "x"}}));
  EXPECT_EQ(result.status, TaskStatus::changed);
  EXPECT_EQ(read("/app.conf"), "x");
  EXPECT_TRUE(env_->file_exists(root_ + "/app.conf"));
}

TEST_P(ModulesTest, PathsThatEscapeTheRootAreRefused) {
  for (const char* escape : {"/../outside", "/etc/../../outside", "/etc/..", "relative/path", ""}) {
    TaskResult result = run_one(task("escape", "copy", {{"dest", escape}, {"content", "x"}}));
    EXPECT_EQ(result.status, TaskStatus::failed) << escape;
  }
  TaskResult link = run_one(task("ln", "file", {{"path", "/l"}, {"state", "link"}, {"src", "../../etc/passwd"}}));
  EXPECT_EQ(link.status, TaskStatus::failed);
  EXPECT_EQ(kind("/l"), FileKind::missing);
}

TEST(ResolvePathTest, PrefixesAndRefusesDotDot) {
  ExecContext context;
  context.exec_root = "/srv/node-1/";
  EXPECT_EQ(*resolve_path(context, "/etc/nginx.conf"), "/srv/node-1/etc/nginx.conf");
  EXPECT_EQ(*resolve_path(context, "/etc/..hidden"), "/srv/node-1/etc/..hidden");
  EXPECT_THAT(resolve_path(context, "/a/../../b").status().message(), HasSubstr("escapes the exec root"));
  EXPECT_FALSE(resolve_path(context, "etc/x").is_ok());
  EXPECT_EQ(*resolve_path(context, "/etc//./nginx/"), "/srv/node-1/etc/nginx");
  EXPECT_EQ(*resolve_path(context, "/"), "/srv/node-1");
  context.exec_root = "/";
  EXPECT_EQ(*resolve_path(context, "/etc/x"), "/etc/x");
  EXPECT_EQ(*resolve_path(context, "/"), "/");
}

// ---- command guards and failures ----

TEST_P(ModulesTest, CommandGuards) {
  commands_.programs["work"] = [](const CommandRequest&) { return CommandOutput{}; };
  commands_.programs["true"] = [](const CommandRequest&) { return CommandOutput{0, false, "", ""}; };
  commands_.programs["false"] = [](const CommandRequest&) { return CommandOutput{1, false, "", ""}; };
  write("/present", "");

  EXPECT_EQ(run_one(task("c", "command", {{"argv", "work"}, {"creates", "/present"}})).status, TaskStatus::ok);
  EXPECT_EQ(run_one(task("r", "command", {{"argv", "work"}, {"removes", "/absent"}})).status, TaskStatus::ok);
  EXPECT_EQ(run_one(task("u", "command", {{"argv", "work"}, {"unless", StringList{"true"}}})).status, TaskStatus::ok);
  EXPECT_EQ(commands_.requests.size(), 1u);  // only the `unless` probe ran

  EXPECT_EQ(run_one(task("c", "command", {{"argv", "work"}, {"creates", "/absent"}})).status, TaskStatus::changed);
  EXPECT_EQ(run_one(task("r", "command", {{"argv", "work"}, {"removes", "/present"}})).status, TaskStatus::changed);
  EXPECT_EQ(run_one(task("u", "command", {{"argv", "work"}, {"unless", StringList{"false"}}})).status,
            TaskStatus::changed);
  ASSERT_EQ(commands_.requests.size(), 5u);
  EXPECT_EQ(commands_.requests.back().argv, StringList{"work"});
}

TEST_P(ModulesTest, CommandTimeoutAndExitCodeFail) {
  commands_.programs["slow"] = [](const CommandRequest& request) {
    EXPECT_EQ(request.timeout, std::chrono::seconds(5));
    return CommandOutput{-1, true, "", ""};
  };
  commands_.programs["broken"] = [](const CommandRequest&) { return CommandOutput{3, false, "", "disk full"}; };
  TaskResult slow = run_one(task("slow", "command", {{"argv", "slow"}, {"timeout", int64_t{5}}}));
  EXPECT_EQ(slow.status, TaskStatus::failed);
  EXPECT_THAT(slow.message, HasSubstr("timed out after 5s"));
  TaskResult broken = run_one(task("broken", "command", {{"argv", "broken"}}));
  EXPECT_EQ(broken.status, TaskStatus::failed);
  EXPECT_THAT(broken.message, HasSubstr("exit 3"));
  EXPECT_THAT(broken.message, HasSubstr("disk full"));
  commands_.fail_nth(1);
  EXPECT_EQ(run_one(task("cannot start", "command", {{"argv", "broken"}})).status, TaskStatus::failed);
}

TEST_P(ModulesTest, BadArgumentsFailWithTheirName) {
  TaskResult result = run_one(task("no content", "copy", {{"dest", "/x"}}));
  EXPECT_EQ(result.status, TaskStatus::failed);
  EXPECT_THAT(result.message, HasSubstr("content"));
  EXPECT_EQ(run_one(task("bad mode", "file", {{"path", "/"}, {"state", "directory"}, {"mode", "rwx"}})).status,
            TaskStatus::failed);
  EXPECT_EQ(run_one(task("bad tag", "tag", {{"set", "novalue"}})).status, TaskStatus::failed);
}

TEST(ModulesFaultTest, AFailedWriteIsAFailedTaskAndLeavesTheOldFile) {
  fakes::MemEnv mem;
  fakes::FaultEnv env(mem);
  fakes::MemFileAttributes attributes(env);
  ASSERT_TRUE(mem.create_directory("/root").is_ok());
  ASSERT_TRUE(write_file_atomically(mem, "/root/app.conf", "old\n").is_ok());
  ExecContext context;
  context.exec_root = "/root";
  context.env = &env;
  context.attributes = &attributes;
  env.fail_sync(1);
  TaskResult result = find_module("copy")->apply({{"dest", "/app.conf"}, {"content", "new\n"}}, context);
  EXPECT_EQ(result.status, TaskStatus::failed);
  EXPECT_THAT(result.message, HasSubstr("injected"));
  EXPECT_EQ(*mem.read_file("/root/app.conf"), "old\n");
}

}  // namespace
}  // namespace roster::exec
