#pragma once

// apt and systemd as the package and service modules see them, by running
// their command-line tools through a CommandRunner (the real one is
// PosixCommandRunner; tests pass a fake and check the argv).
//
//   AptPackageManager      dpkg-query -W to ask, apt-get install/remove -y
//                          (DEBIAN_FRONTEND=noninteractive) to change.
//   SystemdServiceManager  systemctl is-active / is-enabled to ask,
//                          systemctl start/stop/restart/reload/enable/disable.
//
// Names come from bundles: one that is empty or starts with '-' (it would be
// read as an option) is invalid_argument, and every argv puts "--" before
// the names. A tool that exits non-zero while changing something is an
// internal error carrying its stderr.
//
// Thread safety: as the CommandRunner. Not owned: `runner` must outlive them.

#include <chrono>
#include <string>
#include <vector>

#include "agent/exec/exec_context.h"

namespace roster::exec {

class AptPackageManager final : public PackageManager {
 public:
  explicit AptPackageManager(CommandRunner& runner, std::chrono::milliseconds timeout = std::chrono::minutes(10))
      : runner_(runner), timeout_(timeout) {}
  Result<bool> installed(const std::string& name) override;
  Status install(const std::vector<std::string>& names) override;
  Status remove(const std::vector<std::string>& names) override;

 private:
  Status apt_get(const char* verb, const std::vector<std::string>& names);
  CommandRunner& runner_;
  std::chrono::milliseconds timeout_;
};

class SystemdServiceManager final : public ServiceManager {
 public:
  explicit SystemdServiceManager(CommandRunner& runner, std::chrono::milliseconds timeout = std::chrono::seconds(90))
      : runner_(runner), timeout_(timeout) {}
  Result<bool> active(const std::string& name) override;
  Result<bool> enabled(const std::string& name) override;
  Status start(const std::string& name) override;
  Status stop(const std::string& name) override;
  Status restart(const std::string& name) override;
  Status reload(const std::string& name) override;
  Status set_enabled(const std::string& name, bool enabled) override;

 private:
  Result<bool> ask(const char* question, const std::string& name);
  Status change(const char* verb, const std::string& name);
  CommandRunner& runner_;
  std::chrono::milliseconds timeout_;
};

}  // namespace roster::exec
