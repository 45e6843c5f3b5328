#include "agent/exec/sandbox_managers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/exec/executor.h"
#include "tests/fakes/fake_exec_services.h"
#include "tests/fakes/mem_env.h"
#include "tests/fakes/mem_file_attributes.h"

namespace roster::exec {
namespace {

using testing::HasSubstr;

class SandboxManagersTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.create_directory("/node").is_ok()); }

  fakes::MemEnv env_;
  SandboxPackageManager packages_{env_, "/node"};
  SandboxServiceManager services_{env_, "/node"};
};

TEST_F(SandboxManagersTest, PackagesAreFilesUnderTheExecRoot) {
  EXPECT_FALSE(*packages_.installed("nginx"));
  ASSERT_TRUE(packages_.install({"nginx", "curl"}).is_ok());
  EXPECT_TRUE(*packages_.installed("nginx"));
  EXPECT_TRUE(env_.file_exists("/node/var/lib/roster-sandbox/packages/curl"));
  ASSERT_TRUE(packages_.remove({"curl", "never-installed"}).is_ok());
  EXPECT_FALSE(*packages_.installed("curl"));
  EXPECT_EQ(*env_.read_file("/node/var/log/roster-sandbox.log"), "install nginx\ninstall curl\nremove curl\n");
}

TEST_F(SandboxManagersTest, ServicesKeepTheirStateAndLogEveryAction) {
  EXPECT_FALSE(*services_.active("nginx"));
  EXPECT_EQ(services_.reload("nginx").code(), StatusCode::conflict);  // not running
  ASSERT_TRUE(services_.start("nginx").is_ok());
  ASSERT_TRUE(services_.set_enabled("nginx", true).is_ok());
  ASSERT_TRUE(services_.reload("nginx").is_ok());
  EXPECT_TRUE(*services_.active("nginx"));
  EXPECT_TRUE(*services_.enabled("nginx"));
  ASSERT_TRUE(services_.stop("nginx").is_ok());
  EXPECT_FALSE(*services_.active("nginx"));
  EXPECT_TRUE(*services_.enabled("nginx"));
  EXPECT_EQ(*env_.read_file("/node/var/log/roster-sandbox.log"),
            "start nginx\nenable nginx\nreload nginx\nstop nginx\n");
}

TEST_F(SandboxManagersTest, NamesNeverLeaveTheirFolder) {
  EXPECT_EQ(packages_.install({"../../etc/passwd"}).code(), StatusCode::invalid_argument);
  EXPECT_EQ(packages_.installed("-all").status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(services_.start("..").code(), StatusCode::invalid_argument);
  EXPECT_THAT(services_.start("").message(), HasSubstr("invalid service name"));
}

// The package and service modules on the sandbox are idempotent like the real ones.
TEST_F(SandboxManagersTest, AppliedTwiceTheSecondRunChangesNothing) {
  fakes::MemFileAttributes attributes(env_);
  fakes::FakeCommandRunner commands;
  fakes::FakeTagSink tags;
  ExecContext context;
  context.env = &env_;
  context.attributes = &attributes;
  context.packages = &packages_;
  context.services = &services_;
  context.commands = &commands;
  context.tags = &tags;
  Executor executor({true, "/node"}, context);
  Bundle bundle{{Task{"nginx", "package", {{"name", std::string("nginx")}}, {}},
                 Task{"running", "service", {{"name", std::string("nginx")}, {"state", std::string("started")},
                                             {"enabled", true}}, {}}},
                {}};
  Result<RunReport> first = executor.run(bundle, {}, RunMode::apply);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->changed, 2);
  Result<RunReport> second = executor.run(bundle, {}, RunMode::apply);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->changed, 0);
}

}  // namespace
}  // namespace roster::exec
