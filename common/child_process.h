#pragma once

// Small POSIX pieces for running a child process and reading its pipes,
// shared by the script health check and the executor's command runner.

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace roster {

// Owns one file descriptor and closes it.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  void reset();

 private:
  int fd_;
};

// Appends what a non-blocking `fd` has to read now, keeping at most `limit`
// bytes in `output` (the rest is read and dropped, so the child never blocks
// on a full pipe). Returns false at end of file.
bool drain_pipe(int fd, std::string& output, size_t limit);

// SIGKILLs the process group `pid` leads and reaps `pid`.
void kill_group_and_reap(pid_t pid);

}  // namespace roster
