#pragma once

// Packages and services of a sandboxed node: the exec root's own files stand in
// for dpkg and systemd, so the demo, the tests and the benchmarks run the real
// playbooks (with `package` and `service` tasks) unprivileged, and nothing
// outside the exec root changes. Chosen by `exec.system: sandbox`.
//
// Under <root>/var/lib/roster-sandbox/:
//   packages/<name>   exists while the package is "installed"
//   services/<name>   "active=0|1 enabled=0|1"
// and every change is appended to <root>/var/log/roster-sandbox.log
// ("install nginx", "restart nginx"), so a run's actions can be read back.
//
// Names are checked as the real managers check them (not empty, no leading
// '-'), and may not contain '/', so a name never reaches outside its folder.
//
// Thread safety: as the Env; one executor run at a time.

#include <string>
#include <vector>

#include "agent/exec/exec_context.h"
#include "common/env.h"

namespace roster::exec {

class SandboxPackageManager final : public PackageManager {
 public:
  // Not owned: `env` must outlive this manager.
  SandboxPackageManager(Env& env, std::string exec_root);
  Result<bool> installed(const std::string& name) override;
  Status install(const std::vector<std::string>& names) override;
  Status remove(const std::vector<std::string>& names) override;

 private:
  Env& env_;
  std::string root_;
};

class SandboxServiceManager final : public ServiceManager {
 public:
  SandboxServiceManager(Env& env, std::string exec_root);
  Result<bool> active(const std::string& name) override;
  Result<bool> enabled(const std::string& name) override;
  Status start(const std::string& name) override;
  Status stop(const std::string& name) override;
  Status restart(const std::string& name) override;
  Status reload(const std::string& name) override;
  Status set_enabled(const std::string& name, bool enabled) override;

 private:
  struct Unit {
    bool active = false;
    bool enabled = false;
  };
  Result<Unit> read(const std::string& name);
  Status write(const std::string& name, const Unit& unit, const std::string& action);
  Env& env_;
  std::string root_;
};

}  // namespace roster::exec
