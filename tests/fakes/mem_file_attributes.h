#pragma once

// An in-memory exec::FileAttributes to sit beside a MemEnv (or any Env):
// kinds come from the Env (a name it can list is a directory, one that exists
// otherwise is a file), while modes, owners and links live here. Files and
// directories the Env holds start as 0644 and 0755, owned by "roster".
//
// Thread safety: none; one test thread.

#include <map>
#include <string>

#include "agent/exec/exec_context.h"
#include "common/env.h"

namespace roster::fakes {

class MemFileAttributes final : public exec::FileAttributes {
 public:
  explicit MemFileAttributes(Env& env) : env_(env) {}

  exec::FileKind kind(const std::string& path) override {
    if (links_.contains(path)) return exec::FileKind::link;
    if (env_.list_directory(path).is_ok()) return exec::FileKind::directory;
    if (env_.file_exists(path)) return exec::FileKind::file;
    return exec::FileKind::missing;
  }
  Result<uint32_t> mode(const std::string& path) override {
    exec::FileKind found = kind(path);
    if (found == exec::FileKind::missing) return Status::not_found("no such file: " + path);
    auto mode = modes_.find(path);
    if (mode != modes_.end()) return mode->second;
    return found == exec::FileKind::directory ? 0755u : 0644u;
  }
  Status set_mode(const std::string& path, uint32_t mode) override {
    if (kind(path) == exec::FileKind::missing) return Status::not_found("no such file: " + path);
    modes_[path] = mode;
    return Status::ok();
  }
  Result<std::string> owner(const std::string& path) override {
    if (kind(path) == exec::FileKind::missing) return Status::not_found("no such file: " + path);
    auto owner = owners_.find(path);
    return owner != owners_.end() ? owner->second : std::string("roster");
  }
  Status set_owner(const std::string& path, const std::string& user) override {
    if (kind(path) == exec::FileKind::missing) return Status::not_found("no such file: " + path);
    owners_[path] = user;
    return Status::ok();
  }
  Result<std::string> read_link(const std::string& path) override {
    auto link = links_.find(path);
    if (link == links_.end()) return Status::invalid_argument(path + " is not a symlink");
    return link->second;
  }
  Status make_link(const std::string& target, const std::string& path) override {
    if (kind(path) != exec::FileKind::missing) return Status::conflict(path + " exists");
    links_[path] = target;
    return Status::ok();
  }
  Status remove_link(const std::string& path) override {
    if (links_.erase(path) == 0) return Status::not_found("no such link: " + path);
    return Status::ok();
  }

 private:
  Env& env_;
  std::map<std::string, uint32_t> modes_;
  std::map<std::string, std::string> owners_;
  std::map<std::string, std::string> links_;
};

}  // namespace roster::fakes
