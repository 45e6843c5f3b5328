#include "agent/exec/exec_context.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace roster::exec {

Result<std::string> resolve_path(const ExecContext& context, std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return Status::invalid_argument("path '" + std::string(path) + "' must be absolute");
  }
  std::string root = context.exec_root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  // Rebuilt from its components, so "//", "/./" and a trailing '/' name the
  // same file the Env and the fakes know.
  std::string resolved = root;
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view component = path.substr(start, end - start);
    if (component == "..") {
      return Status::invalid_argument("path '" + std::string(path) + "' escapes the exec root with '..'");
    }
    if (!component.empty() && component != ".") resolved += "/" + std::string(component);
    start = end + 1;
  }
  if (resolved.empty()) resolved = "/";
  return resolved;
}

namespace {

Status errno_status(const char* what, const std::string& path, int error) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(error);
  if (error == ENOENT) return Status::not_found(std::move(message));
  if (error == EACCES || error == EPERM) return Status::permission_denied(std::move(message));
  return Status::internal(std::move(message));
}

}  // namespace

FileKind PosixFileAttributes::kind(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return FileKind::missing;
  if (S_ISLNK(info.st_mode)) return FileKind::link;
  if (S_ISDIR(info.st_mode)) return FileKind::directory;
  return FileKind::file;
}

Result<uint32_t> PosixFileAttributes::mode(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return errno_status("cannot stat", path, errno);
  return static_cast<uint32_t>(info.st_mode & 07777);
}

Status PosixFileAttributes::set_mode(const std::string& path, uint32_t mode) {
  if (::chmod(path.c_str(), mode) != 0) return errno_status("cannot chmod", path, errno);
  return Status::ok();
}

Result<std::string> PosixFileAttributes::owner(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return errno_status("cannot stat", path, errno);
  passwd entry {};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(info.st_uid, &entry, buffer, sizeof buffer, &found) != 0 || found == nullptr) {
    return std::to_string(info.st_uid);
  }
  return std::string(found->pw_name);
}

Status PosixFileAttributes::set_owner(const std::string& path, const std::string& user) {
  passwd entry {};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwnam_r(user.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || found == nullptr) {
    return Status::invalid_argument("no such user: " + user);
  }
  if (::lchown(path.c_str(), found->pw_uid, static_cast<gid_t>(-1)) != 0) {
    return errno_status("cannot chown", path, errno);
  }
  return Status::ok();
}

Result<std::string> PosixFileAttributes::read_link(const std::string& path) {
  char buffer[4096];
  ssize_t length = ::readlink(path.c_str(), buffer, sizeof buffer);
  if (length < 0) {
    if (errno == EINVAL) return Status::invalid_argument(path + " is not a symlink");
    return errno_status("cannot read link", path, errno);
  }
  return std::string(buffer, static_cast<size_t>(length));
}

Status PosixFileAttributes::make_link(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0) return errno_status("cannot create link", path, errno);
  return Status::ok();
}

Status PosixFileAttributes::remove_link(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_status("cannot remove link", path, errno);
  return Status::ok();
}

}  // namespace roster::exec
