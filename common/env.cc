#include "common/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace roster {
namespace {

Status errno_status(const std::string& what, const std::string& path, int error) {
  std::string message = what + " " + path + ": " + std::strerror(error);
  if (error == ENOENT) return Status::not_found(std::move(message));
  return Status::internal(std::move(message));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t position)
      : path_(std::move(path)), fd_(fd), position_(position) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status write(std::string_view data) override {
    if (fd_ < 0) return Status::internal("write to closed file " + path_);
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(position_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_status("cannot write", path_, errno);
      position_ += static_cast<uint64_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::ok();
  }

  Status sync() override {
    if (fd_ < 0) return Status::internal("sync of closed file " + path_);
    if (::fdatasync(fd_) != 0) return errno_status("cannot fdatasync", path_, errno);
    return Status::ok();
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return errno_status("cannot truncate", path_, errno);
    position_ = std::min(position_, size);
    return Status::ok();
  }

  Status preallocate(uint64_t size) override {
    int error = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
    if (error == 0) return Status::ok();
    // Some file systems (tmpfs on old kernels, some network file systems)
    // cannot reserve blocks; a sparse extension still reads as zeros, which
    // is all the log needs to find its end.
    if (error != EOPNOTSUPP && error != ENOSYS && error != EINVAL) {
      return errno_status("cannot preallocate", path_, error);
    }
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return errno_status("cannot stat", path_, errno);
    if (static_cast<uint64_t>(info.st_size) >= size) return Status::ok();
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return errno_status("cannot extend", path_, errno);
    return Status::ok();
  }

  uint64_t position() const override { return position_; }
  void seek(uint64_t position) override { position_ = position; }

  Status close() override {
    if (fd_ < 0) return Status::ok();
    int result = ::close(fd_);
    fd_ = -1;
    if (result != 0) return errno_status("cannot close", path_, errno);
    return Status::ok();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t position_;
};

}  // namespace

Result<std::unique_ptr<WritableFile>> PosixEnv::open_writable(const std::string& path, OpenMode mode) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (mode == OpenMode::truncate) flags |= O_TRUNC;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return errno_status("cannot open", path, errno);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return errno_status("cannot stat", path, error);
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<PosixWritableFile>(path, fd, static_cast<uint64_t>(info.st_size)));
}

Result<std::string> PosixEnv::read_file(const std::string& path) {
  Result<uint64_t> size = file_size(path);
  if (!size.is_ok()) return size.status();
  return read_range(path, 0, *size);
}

Result<std::string> PosixEnv::read_range(const std::string& path, uint64_t offset, uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("cannot open", path, errno);
  std::string bytes(length, '\0');
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, bytes.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return errno_status("cannot read", path, error);
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

Result<uint64_t> PosixEnv::file_size(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return errno_status("cannot stat", path, errno);
  return static_cast<uint64_t>(info.st_size);
}

bool PosixEnv::file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Status PosixEnv::rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_status("cannot rename " + from + " to", to, errno);
  return Status::ok();
}

Status PosixEnv::remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_status("cannot remove", path, errno);
  return Status::ok();
}

Result<std::vector<std::string>> PosixEnv::list_directory(const std::string& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return errno_status("cannot list", dir, errno);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixEnv::create_directory(const std::string& dir) {
  if (dir.empty()) return Status::invalid_argument("empty directory name");
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return errno_status("cannot create directory", prefix, errno);
    }
    if (slash == std::string::npos) break;
  }
  return Status::ok();
}

Status PosixEnv::sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("cannot open directory", dir, errno);
  int result = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (result != 0) return errno_status("cannot fsync directory", dir, error);
  return Status::ok();
}

std::chrono::steady_clock::time_point PosixEnv::now() { return std::chrono::steady_clock::now(); }

std::string parent_directory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Status write_file_atomically(Env& env, const std::string& path, std::string_view bytes) {
  const std::string temp = path + ".tmp";
  Status status = [&]() -> Status {
    Result<std::unique_ptr<WritableFile>> file = env.open_writable(temp, OpenMode::truncate);
    if (!file.is_ok()) return file.status();
    if (Status s = (*file)->write(bytes); !s.is_ok()) return s;
    if (Status s = (*file)->sync(); !s.is_ok()) return s;
    if (Status s = (*file)->close(); !s.is_ok()) return s;
    return env.rename_file(temp, path);
  }();
  if (!status.is_ok()) {
    (void)env.remove_file(temp);  // best effort; a leftover .tmp is never read
    return status;
  }
  return env.sync_directory(parent_directory(path));
}

}  // namespace roster
