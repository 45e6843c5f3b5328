#pragma once

// A sandboxed node for the executor's tests: an exec root on an in-memory
// disk (MemEnv) or in a mkdtemp folder on the real one (PosixEnv), plus fake
// apt, systemd, commands and tags. Tests are parameterised over both disks.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "agent/exec/executor.h"
#include "tests/fakes/fake_exec_services.h"
#include "tests/fakes/mem_env.h"
#include "tests/fakes/mem_file_attributes.h"

namespace roster::exec {

// Names the parameterised cases after their disk: .../mem, .../posix.
inline std::string disk_name(const testing::TestParamInfo<std::string>& disk) { return disk.param; }

class SandboxTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "posix") {
      char pattern[] = "/tmp/roster-exec-test-XXXXXX";
      ASSERT_NE(::mkdtemp(pattern), nullptr);
      root_ = pattern;
      env_ = std::make_unique<PosixEnv>();
      attributes_ = std::make_unique<PosixFileAttributes>();
    } else {
      root_ = "/sandbox";
      env_ = std::make_unique<fakes::MemEnv>();
      ASSERT_TRUE(env_->create_directory(root_).is_ok());
      attributes_ = std::make_unique<fakes::MemFileAttributes>(*env_);
    }
  }
  void TearDown() override {
    if (GetParam() == "posix") std::filesystem::remove_all(root_);
  }

  ExecContext context() {
    ExecContext context;
    context.exec_root = root_;
    context.env = env_.get();
    context.attributes = attributes_.get();
    context.packages = &packages_;
    context.services = &services_;
    context.commands = &commands_;
    context.tags = &tags_;
    context.running_as_root = running_as_root_;
    return context;
  }
  Executor executor(bool enabled = true) { return Executor({enabled, root_}, context()); }

  RunReport run(const Bundle& bundle, RunMode mode = RunMode::apply, const std::vector<std::string>& pending = {}) {
    Result<RunReport> report = executor().run(bundle, pending, mode);
    EXPECT_TRUE(report.is_ok()) << report.status().to_string();
    return report.is_ok() ? *report : RunReport{};
  }
  TaskResult run_one(const Task& task, RunMode mode = RunMode::apply) {
    RunReport report = run(Bundle{{task}, {}}, mode);
    EXPECT_EQ(report.tasks.size(), 1u);
    return report.tasks.empty() ? TaskResult{} : report.tasks.front();
  }
  // Idempotence, tested: the first apply changes, the second reports ok.
  void expect_changed_then_ok(const Task& task) {
    RunReport first = run(Bundle{{task}, {}});
    ASSERT_EQ(first.tasks.size(), 1u);
    EXPECT_EQ(first.tasks[0].status, TaskStatus::changed) << first.tasks[0].message;
    EXPECT_EQ(first.changed, 1);
    RunReport second = run(Bundle{{task}, {}});
    ASSERT_EQ(second.tasks.size(), 1u);
    EXPECT_EQ(second.tasks[0].status, TaskStatus::ok) << second.tasks[0].message << "\n" << second.tasks[0].diff;
    EXPECT_EQ(second.changed, 0);
  }

  std::string path(const std::string& name) const { return root_ + name; }
  void make_directory(const std::string& name) { ASSERT_TRUE(env_->create_directory(path(name)).is_ok()); }
  void write(const std::string& name, const std::string& bytes) {
    ASSERT_TRUE(write_file_atomically(*env_, path(name), bytes).is_ok());
  }
  std::string read(const std::string& name) {
    Result<std::string> bytes = env_->read_file(path(name));
    return bytes.is_ok() ? *bytes : "<" + bytes.status().to_string() + ">";
  }
  FileKind kind(const std::string& name) { return attributes_->kind(path(name)); }
  uint32_t mode(const std::string& name) {
    Result<uint32_t> bits = attributes_->mode(path(name));
    return bits.is_ok() ? *bits : 0;
  }

  std::string root_;
  bool running_as_root_ = false;
  std::unique_ptr<Env> env_;
  std::unique_ptr<FileAttributes> attributes_;
  fakes::FakePackageManager packages_;
  fakes::FakeServiceManager services_;
  fakes::FakeCommandRunner commands_;
  fakes::FakeTagSink tags_;
};

inline Task task(std::string name, std::string module, Args args, StringList notify = {}) {
  return Task{std::move(name), std::move(module), std::move(args), std::move(notify)};
}

}  // namespace roster::exec
