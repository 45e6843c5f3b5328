#include "agent/exec/system_managers.h"

namespace roster::exec {
namespace {

Status check_name(const std::string& name) {
  if (name.empty() || name.front() == '-') return Status::invalid_argument("invalid name '" + name + "'");
  return Status::ok();
}

Status tool_failed(const std::vector<std::string>& argv, const CommandOutput& output) {
  std::string command;
  for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
  if (output.timed_out) return Status::internal(command + ": timed out");
  return Status::internal(command + ": exit " + std::to_string(output.exit_code) +
                          (output.err.empty() ? "" : ": " + output.err));
}

}  // namespace

Result<bool> AptPackageManager::installed(const std::string& name) {
  Status valid = check_name(name);
  if (!valid.is_ok()) return valid;
  std::vector<std::string> argv{"dpkg-query", "-W", "-f=${Status}", "--", name};
  Result<CommandOutput> output = runner_.run({argv, timeout_, "/"});
  if (!output.is_ok()) return output.status();
  if (output->timed_out) return tool_failed(argv, *output);
  // dpkg-query exits 1 for a package it has never heard of.
  if (output->exit_code == 1) return false;
  if (output->exit_code != 0) return tool_failed(argv, *output);
  return output->out.find("install ok installed") != std::string::npos;
}

Status AptPackageManager::apt_get(const char* verb, const std::vector<std::string>& names) {
  std::vector<std::string> argv{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", verb, "-y", "-q", "--"};
  for (const std::string& name : names) {
    Status valid = check_name(name);
    if (!valid.is_ok()) return valid;
    argv.push_back(name);
  }
  Result<CommandOutput> output = runner_.run({argv, timeout_, "/"});
  if (!output.is_ok()) return output.status();
  if (output->timed_out || output->exit_code != 0) return tool_failed(argv, *output);
  return Status::ok();
}

Status AptPackageManager::install(const std::vector<std::string>& names) { return apt_get("install", names); }
Status AptPackageManager::remove(const std::vector<std::string>& names) { return apt_get("remove", names); }

Result<bool> SystemdServiceManager::ask(const char* question, const std::string& name) {
  Status valid = check_name(name);
  if (!valid.is_ok()) return valid;
  std::vector<std::string> argv{"systemctl", question, "--quiet", "--", name};
  Result<CommandOutput> output = runner_.run({argv, timeout_, "/"});
  if (!output.is_ok()) return output.status();
  if (output->timed_out) return tool_failed(argv, *output);
  // is-active and is-enabled answer "no" with a non-zero exit, not an error.
  return output->exit_code == 0;
}

Status SystemdServiceManager::change(const char* verb, const std::string& name) {
  Status valid = check_name(name);
  if (!valid.is_ok()) return valid;
  std::vector<std::string> argv{"systemctl", verb, "--", name};
  Result<CommandOutput> output = runner_.run({argv, timeout_, "/"});
  if (!output.is_ok()) return output.status();
  if (output->timed_out || output->exit_code != 0) return tool_failed(argv, *output);
  return Status::ok();
}

Result<bool> SystemdServiceManager::active(const std::string& name) { return ask("is-active", name); }
Result<bool> SystemdServiceManager::enabled(const std::string& name) { return ask("is-enabled", name); }
Status SystemdServiceManager::start(const std::string& name) { return change("start", name); }
Status SystemdServiceManager::stop(const std::string& name) { return change("stop", name); }
Status SystemdServiceManager::restart(const std::string& name) { return change("restart", name); }
Status SystemdServiceManager::reload(const std::string& name) { return change("reload", name); }
Status SystemdServiceManager::set_enabled(const std::string& name, bool enable) {
  return change(enable ? "enable" : "disable", name);
}

}  // namespace roster::exec
