// apt and systemd through a fake command runner: the argv each question and
// change runs, how exit codes read, and names that look like options.

#include "agent/exec/system_managers.h"

#include <gmock/gmock.h>

#include "tests/fakes/fake_exec_services.h"

namespace roster::exec {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

TEST(AptPackageManagerTest, AsksDpkgAndChangesWithAptGet) {
  fakes::FakeCommandRunner runner;
  runner.programs["dpkg-query"] = [](const CommandRequest& request) {
    if (request.argv.back() == "nginx") return CommandOutput{0, false, "install ok installed", ""};
    if (request.argv.back() == "curl") return CommandOutput{0, false, "deinstall ok config-files", ""};
    return CommandOutput{1, false, "", "no packages found"};
  };
  runner.programs["env"] = [](const CommandRequest&) { return CommandOutput{}; };
  AptPackageManager apt(runner);
  EXPECT_TRUE(*apt.installed("nginx"));
  EXPECT_FALSE(*apt.installed("curl"));
  EXPECT_FALSE(*apt.installed("unheard-of"));
  EXPECT_TRUE(apt.install({"curl", "jq"}).is_ok());
  EXPECT_THAT(runner.requests.back().argv,
              ElementsAre("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--", "curl", "jq"));
  EXPECT_TRUE(apt.remove({"curl"}).is_ok());
  EXPECT_EQ(runner.requests.back().argv[3], "remove");
}

TEST(AptPackageManagerTest, AFailedInstallCarriesStderrAndOptionLikeNamesAreRefused) {
  fakes::FakeCommandRunner runner;
  runner.programs["env"] = [](const CommandRequest&) { return CommandOutput{100, false, "", "E: Unable to locate"}; };
  AptPackageManager apt(runner);
  Status status = apt.install({"nosuch"});
  EXPECT_FALSE(status.is_ok());
  EXPECT_THAT(status.message(), HasSubstr("Unable to locate"));
  size_t ran = runner.requests.size();
  EXPECT_EQ(apt.install({"--purge"}).code(), StatusCode::invalid_argument);
  EXPECT_EQ(apt.installed("-x").status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(runner.requests.size(), ran);
}

TEST(SystemdServiceManagerTest, AsksAndChangesThroughSystemctl) {
  fakes::FakeCommandRunner runner;
  runner.programs["systemctl"] = [](const CommandRequest& request) {
    const std::string& verb = request.argv[1];
    if (verb == "is-active") return CommandOutput{3, false, "", ""};
    if (verb == "is-enabled") return CommandOutput{0, false, "", ""};
    if (verb == "start" && request.argv.back() == "broken") return CommandOutput{1, false, "", "Job failed"};
    return CommandOutput{};
  };
  SystemdServiceManager systemd(runner);
  EXPECT_FALSE(*systemd.active("nginx"));
  EXPECT_TRUE(*systemd.enabled("nginx"));
  EXPECT_TRUE(systemd.start("nginx").is_ok());
  EXPECT_THAT(runner.requests.back().argv, ElementsAre("systemctl", "start", "--", "nginx"));
  EXPECT_TRUE(systemd.set_enabled("nginx", false).is_ok());
  EXPECT_THAT(runner.requests.back().argv, ElementsAre("systemctl", "disable", "--", "nginx"));
  EXPECT_THAT(systemd.start("broken").message(), HasSubstr("Job failed"));
  EXPECT_EQ(systemd.restart("--all").code(), StatusCode::invalid_argument);
  EXPECT_TRUE(systemd.reload("nginx").is_ok());
  EXPECT_THAT(runner.requests.back().argv, ElementsAre("systemctl", "reload", "--", "nginx"));
}

}  // namespace
}  // namespace roster::exec
