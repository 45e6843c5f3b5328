#pragma once

// In-memory apt, systemd, command runner and tag store for the executor's
// tests. Each records the calls that change something, so a test can check
// that a second apply (or a dry run) changed nothing. Each can be made to
// fail (habit 9: every executor interface has a fault): apt and systemd fail
// their next change with fail_next_change(), the command runner its N-th
// command.
//
// Thread safety: none; one test thread.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/exec/exec_context.h"

namespace roster::fakes {

class FakePackageManager final : public exec::PackageManager {
 public:
  Result<bool> installed(const std::string& name) override { return installed_.contains(name); }
  Status install(const std::vector<std::string>& names) override {
    if (!next_failure_.is_ok()) return std::exchange(next_failure_, Status::ok());
    for (const std::string& name : names) {
      calls.push_back("install " + name);
      installed_.insert(name);
    }
    return Status::ok();
  }
  Status remove(const std::vector<std::string>& names) override {
    if (!next_failure_.is_ok()) return std::exchange(next_failure_, Status::ok());
    for (const std::string& name : names) {
      calls.push_back("remove " + name);
      installed_.erase(name);
    }
    return Status::ok();
  }
  void preinstall(const std::string& name) { installed_.insert(name); }
  bool has(const std::string& name) const { return installed_.contains(name); }
  void fail_next_change(Status failure) { next_failure_ = std::move(failure); }

  std::vector<std::string> calls;

 private:
  std::set<std::string> installed_;
  Status next_failure_;
};

class FakeServiceManager final : public exec::ServiceManager {
 public:
  struct Unit {
    bool active = false;
    bool enabled = false;
  };
  Result<bool> active(const std::string& name) override { return units[name].active; }
  Result<bool> enabled(const std::string& name) override { return units[name].enabled; }
  Status start(const std::string& name) override { return record("start", name, true); }
  Status stop(const std::string& name) override { return record("stop", name, false); }
  Status restart(const std::string& name) override { return record("restart", name, true); }
  Status reload(const std::string& name) override { return record("reload", name, true); }
  Status set_enabled(const std::string& name, bool enable) override {
    if (!next_failure_.is_ok()) return std::exchange(next_failure_, Status::ok());
    calls.push_back((enable ? "enable " : "disable ") + name);
    units[name].enabled = enable;
    return Status::ok();
  }

  void fail_next_change(Status failure) { next_failure_ = std::move(failure); }

  std::map<std::string, Unit> units;
  std::vector<std::string> calls;

 private:
  Status record(const char* verb, const std::string& name, bool active_after) {
    if (!next_failure_.is_ok()) return std::exchange(next_failure_, Status::ok());
    calls.push_back(std::string(verb) + " " + name);
    units[name].active = active_after;
    return Status::ok();
  }
  Status next_failure_;
};

// Programs are functions keyed by argv[0]; an unknown program exits 127.
class FakeCommandRunner final : public exec::CommandRunner {
 public:
  using Program = std::function<exec::CommandOutput(const exec::CommandRequest&)>;

  Result<exec::CommandOutput> run(const exec::CommandRequest& request) override {
    requests.push_back(request);
    if (fail_at_ != 0 && static_cast<int>(requests.size()) == fail_at_) {
      fail_at_ = 0;
      return Status::internal("injected failure to start " + request.argv.front());
    }
    auto program = programs.find(request.argv.front());
    if (program == programs.end()) return exec::CommandOutput{127, false, "", request.argv.front() + ": not found"};
    return program->second(request);
  }
  // The nth command from now (1-based) cannot be started.
  void fail_nth(int nth) { fail_at_ = static_cast<int>(requests.size()) + nth; }

  std::map<std::string, Program> programs;
  std::vector<exec::CommandRequest> requests;

 private:
  int fail_at_ = 0;
};

class FakeTagSink final : public exec::TagSink {
 public:
  std::map<std::string, std::string> tags() override { return tags_; }
  Status set_tags(const std::map<std::string, std::string>& tags) override {
    ++writes;
    tags_ = tags;
    return Status::ok();
  }
  int writes = 0;

 private:
  std::map<std::string, std::string> tags_;
};

}  // namespace roster::fakes
