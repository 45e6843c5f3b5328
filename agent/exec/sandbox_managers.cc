#include "agent/exec/sandbox_managers.h"

#include <utility>

namespace roster::exec {
namespace {

constexpr const char* kStateDir = "/var/lib/roster-sandbox";
constexpr const char* kLogFile = "/var/log/roster-sandbox.log";

Status check_name(const std::string& name, const char* what) {
  if (name.empty() || name.front() == '-' || name.find('/') != std::string::npos || name == "." || name == "..") {
    return Status::invalid_argument(std::string("invalid ") + what + " name \"" + name + "\"");
  }
  return Status::ok();
}

Status append_log(Env& env, const std::string& root, const std::string& line) {
  const std::string path = root + kLogFile;
  if (Status made = env.create_directory(parent_directory(path)); !made.is_ok()) return made;
  Result<std::unique_ptr<WritableFile>> file = env.open_writable(path, OpenMode::keep);
  if (!file.is_ok()) return file.status();
  if (Status written = (*file)->write(line + "\n"); !written.is_ok()) return written;
  return (*file)->close();
}

}  // namespace

SandboxPackageManager::SandboxPackageManager(Env& env, std::string exec_root) : env_(env), root_(std::move(exec_root)) {}

Result<bool> SandboxPackageManager::installed(const std::string& name) {
  if (Status valid = check_name(name, "package"); !valid.is_ok()) return valid;
  return env_.file_exists(root_ + kStateDir + "/packages/" + name);
}

Status SandboxPackageManager::install(const std::vector<std::string>& names) {
  const std::string dir = root_ + kStateDir + "/packages";
  if (Status made = env_.create_directory(dir); !made.is_ok()) return made;
  for (const std::string& name : names) {
    if (Status valid = check_name(name, "package"); !valid.is_ok()) return valid;
    if (Status written = write_file_atomically(env_, dir + "/" + name, "installed\n"); !written.is_ok()) return written;
    if (Status logged = append_log(env_, root_, "install " + name); !logged.is_ok()) return logged;
  }
  return Status::ok();
}

Status SandboxPackageManager::remove(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (Status valid = check_name(name, "package"); !valid.is_ok()) return valid;
    const std::string path = root_ + kStateDir + "/packages/" + name;
    if (!env_.file_exists(path)) continue;
    if (Status removed = env_.remove_file(path); !removed.is_ok()) return removed;
    if (Status logged = append_log(env_, root_, "remove " + name); !logged.is_ok()) return logged;
  }
  return Status::ok();
}

SandboxServiceManager::SandboxServiceManager(Env& env, std::string exec_root) : env_(env), root_(std::move(exec_root)) {}

Result<SandboxServiceManager::Unit> SandboxServiceManager::read(const std::string& name) {
  if (Status valid = check_name(name, "service"); !valid.is_ok()) return valid;
  Result<std::string> text = env_.read_file(root_ + kStateDir + "/services/" + name);
  if (!text.is_ok()) {
    if (text.status().code() == StatusCode::not_found) return Unit{};
    return text.status();
  }
  Unit unit;
  unit.active = text->find("active=1") != std::string::npos;
  unit.enabled = text->find("enabled=1") != std::string::npos;
  return unit;
}

Status SandboxServiceManager::write(const std::string& name, const Unit& unit, const std::string& action) {
  const std::string dir = root_ + kStateDir + "/services";
  if (Status made = env_.create_directory(dir); !made.is_ok()) return made;
  const std::string text =
      std::string("active=") + (unit.active ? "1" : "0") + " enabled=" + (unit.enabled ? "1" : "0") + "\n";
  if (Status written = write_file_atomically(env_, dir + "/" + name, text); !written.is_ok()) return written;
  return append_log(env_, root_, action + " " + name);
}

Result<bool> SandboxServiceManager::active(const std::string& name) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  return unit->active;
}

Result<bool> SandboxServiceManager::enabled(const std::string& name) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  return unit->enabled;
}

Status SandboxServiceManager::start(const std::string& name) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  unit->active = true;
  return write(name, *unit, "start");
}

Status SandboxServiceManager::stop(const std::string& name) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  unit->active = false;
  return write(name, *unit, "stop");
}

Status SandboxServiceManager::restart(const std::string& name) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  unit->active = true;
  return write(name, *unit, "restart");
}

Status SandboxServiceManager::reload(const std::string& name) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  if (!unit->active) return Status::conflict("cannot reload " + name + ": it is not running");
  return write(name, *unit, "reload");
}

Status SandboxServiceManager::set_enabled(const std::string& name, bool enabled) {
  Result<Unit> unit = read(name);
  if (!unit.is_ok()) return unit.status();
  unit->enabled = enabled;
  return write(name, *unit, enabled ? "enable" : "disable");
}

}  // namespace roster::exec
