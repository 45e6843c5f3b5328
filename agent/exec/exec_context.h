#pragma once

// What a module may touch, each behind an interface so the executor runs in
// tests without root, apt or systemd: files through the Env (contents) and
// FileAttributes (what Env lacks: kinds, modes, owners, links), packages,
// services, commands and this node's runtime tags.
//
// Real implementations live beside the agent's wiring; the fakes are in
// tests/fakes/ (mem_file_attributes.h, fake_exec_services.h).
//
// Thread safety: an ExecContext and what it points to are used by one
// Executor::run at a time.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace roster::exec {

enum class FileKind { missing, file, directory, link };

// File metadata that Env does not model. Paths are already under the exec root.
class FileAttributes {
 public:
  virtual ~FileAttributes() = default;
  // Does not follow a symlink at `path` (lstat).
  virtual FileKind kind(const std::string& path) = 0;
  // Permission bits (07777). not_found if missing.
  virtual Result<uint32_t> mode(const std::string& path) = 0;
  virtual Status set_mode(const std::string& path, uint32_t mode) = 0;
  // User name of the owner.
  virtual Result<std::string> owner(const std::string& path) = 0;
  virtual Status set_owner(const std::string& path, const std::string& user) = 0;
  // The target of the symlink at `path`; invalid_argument if it is not a link.
  virtual Result<std::string> read_link(const std::string& path) = 0;
  // REQUIRES: nothing exists at `path`.
  virtual Status make_link(const std::string& target, const std::string& path) = 0;
  // Removes the symlink itself, never its target.
  virtual Status remove_link(const std::string& path) = 0;
};

// The real file system (lstat, chmod, chown, symlink).
class PosixFileAttributes final : public FileAttributes {
 public:
  FileKind kind(const std::string& path) override;
  Result<uint32_t> mode(const std::string& path) override;
  Status set_mode(const std::string& path, uint32_t mode) override;
  Result<std::string> owner(const std::string& path) override;
  Status set_owner(const std::string& path, const std::string& user) override;
  Result<std::string> read_link(const std::string& path) override;
  Status make_link(const std::string& target, const std::string& path) override;
  Status remove_link(const std::string& path) override;
};

// apt, or its fake.
class PackageManager {
 public:
  virtual ~PackageManager() = default;
  virtual Result<bool> installed(const std::string& name) = 0;
  virtual Status install(const std::vector<std::string>& names) = 0;
  virtual Status remove(const std::vector<std::string>& names) = 0;
};

// systemd, or its fake. Unit names as systemctl takes them ("nginx").
class ServiceManager {
 public:
  virtual ~ServiceManager() = default;
  virtual Result<bool> active(const std::string& name) = 0;
  virtual Result<bool> enabled(const std::string& name) = 0;
  virtual Status start(const std::string& name) = 0;
  virtual Status stop(const std::string& name) = 0;
  virtual Status restart(const std::string& name) = 0;
  // Asks the running service to reload its configuration.
  virtual Status reload(const std::string& name) = 0;
  virtual Status set_enabled(const std::string& name, bool enabled) = 0;
};

struct CommandRequest {
  std::vector<std::string> argv;     // argv[0] is looked up on PATH; no shell
  std::chrono::milliseconds timeout;
  std::string working_directory;     // the exec root
};

struct CommandOutput {
  int exit_code = 0;
  bool timed_out = false;            // killed at the timeout; exit_code is then meaningless
  std::string out;
  std::string err;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // An error Status only when the command could not be started; a command
  // that ran and failed is an ok Result with its exit code.
  virtual Result<CommandOutput> run(const CommandRequest& request) = 0;
};

// This node's runtime tags (the agent's tag store, or its fake).
class TagSink {
 public:
  virtual ~TagSink() = default;
  virtual std::map<std::string, std::string> tags() = 0;
  virtual Status set_tags(const std::map<std::string, std::string>& tags) = 0;
};

// Not owned: every pointer must outlive the runs that use it.
struct ExecContext {
  // Prefixed to every path a task names. "/" means the real root.
  std::string exec_root;
  Env* env = nullptr;
  FileAttributes* attributes = nullptr;
  PackageManager* packages = nullptr;
  ServiceManager* services = nullptr;
  CommandRunner* commands = nullptr;
  TagSink* tags = nullptr;
  // Owners are changed only when the agent runs as root; otherwise an `owner`
  // argument is reported in the message and left alone.
  bool running_as_root = false;
};

// `path` (as a task names it) under the exec root, with empty and "."
// components dropped ("/etc//x/" is "/etc/x"). invalid_argument for an
// empty or relative path, or one with a ".." component: a task never
// reaches outside its root by name. (Symlinks already inside the root are not
// resolved; the root is a sandbox for tasks, not a defence against its owner.)
Result<std::string> resolve_path(const ExecContext& context, std::string_view path);

}  // namespace roster::exec
