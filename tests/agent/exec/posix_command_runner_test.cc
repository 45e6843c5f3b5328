// The real command runner against /bin/sh: exit codes, the two streams kept
// apart, the working directory, a missing program, and the timeout.

#include "agent/exec/posix_command_runner.h"

#include <gtest/gtest.h>

namespace roster::exec {
namespace {

using std::chrono::milliseconds;

TEST(PosixCommandRunnerTest, CapturesExitCodeAndBothStreams) {
  PosixCommandRunner runner;
  Result<CommandOutput> output =
      runner.run({{"sh", "-c", "echo out; echo err >&2; exit 3"}, milliseconds(10'000), "/"});
  ASSERT_TRUE(output.is_ok()) << output.status().to_string();
  EXPECT_EQ(output->exit_code, 3);
  EXPECT_FALSE(output->timed_out);
  EXPECT_EQ(output->out, "out\n");
  EXPECT_EQ(output->err, "err\n");
}

TEST(PosixCommandRunnerTest, RunsInTheWorkingDirectory) {
  PosixCommandRunner runner;
  Result<CommandOutput> output = runner.run({{"pwd"}, milliseconds(10'000), "/tmp"});
  ASSERT_TRUE(output.is_ok());
  EXPECT_EQ(output->out, "/tmp\n");
}

TEST(PosixCommandRunnerTest, AMissingProgramIsAnError) {
  PosixCommandRunner runner;
  Result<CommandOutput> output = runner.run({{"roster-no-such-program"}, milliseconds(10'000), "/"});
  EXPECT_FALSE(output.is_ok());
}

TEST(PosixCommandRunnerTest, KillsTheCommandAtTheTimeout) {
  PosixCommandRunner runner;
  Result<CommandOutput> output = runner.run({{"sleep", "30"}, milliseconds(100), "/"});
  ASSERT_TRUE(output.is_ok());
  EXPECT_TRUE(output->timed_out);
}

TEST(PosixCommandRunnerTest, KeepsOnlyTheFirstBytesOfLargeOutput) {
  PosixCommandRunner runner(16);
  Result<CommandOutput> output = runner.run({{"sh", "-c", "seq 1 100000"}, milliseconds(10'000), "/"});
  ASSERT_TRUE(output.is_ok());
  EXPECT_EQ(output->exit_code, 0);
  EXPECT_EQ(output->out.size(), 16u);
}

}  // namespace
}  // namespace roster::exec
