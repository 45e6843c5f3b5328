#include "agent/exec/posix_command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/child_process.h"

extern char** environ;

namespace roster::exec {

Result<CommandOutput> PosixCommandRunner::run(const CommandRequest& request) {
  if (request.argv.empty()) return Status::invalid_argument("command has no argv");
  int out_fds[2];
  int err_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) return Status::internal(std::string("cannot create pipe: ") + std::strerror(errno));
  FileDescriptor out_read(out_fds[0]);
  FileDescriptor out_write(out_fds[1]);
  if (::pipe2(err_fds, O_CLOEXEC) != 0) return Status::internal(std::string("cannot create pipe: ") + std::strerror(errno));
  FileDescriptor err_read(err_fds[0]);
  FileDescriptor err_write(err_fds[1]);

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const std::string& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!request.working_directory.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, request.working_directory.c_str());
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigset_t all_signals;
  sigemptyset(&no_signals);
  sigfillset(&all_signals);
  // Own process group, so a timeout kills whatever the command started.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &all_signals);

  pid_t pid = 0;
  int spawn_error = ::posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  out_write.reset();
  err_write.reset();
  if (spawn_error != 0) {
    return Status::not_found("cannot run \"" + request.argv[0] + "\": " + std::strerror(spawn_error));
  }
  for (int fd : {out_read.get(), err_read.get()}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  // A subprocess deadline is measured on the host's monotonic clock: this is
  // the OS adapter, not logic a test needs to drive.
  auto deadline = std::chrono::steady_clock::now() + request.timeout;
  CommandOutput output;
  bool out_open = true;
  bool err_open = true;
  int wait_status = 0;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      kill_group_and_reap(pid);
      output.timed_out = true;
      output.exit_code = -1;
      return output;
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(std::min<long long>(remaining, 10)));
    if (out_open) out_open = drain_pipe(out_read.get(), output.out, max_output_bytes_);
    if (err_open) err_open = drain_pipe(err_read.get(), output.err, max_output_bytes_);
    pid_t waited = ::waitpid(pid, &wait_status, WNOHANG);
    if (waited == pid) {
      // A background child may hold the pipes open; take what is there and go.
      if (out_open) drain_pipe(out_read.get(), output.out, max_output_bytes_);
      if (err_open) drain_pipe(err_read.get(), output.err, max_output_bytes_);
      break;
    }
    if (waited < 0 && errno != EINTR) {
      kill_group_and_reap(pid);
      return Status::internal(std::string("cannot wait for command: ") + std::strerror(errno));
    }
  }
  if (WIFEXITED(wait_status)) {
    output.exit_code = WEXITSTATUS(wait_status);
  } else {
    output.exit_code = WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : -1;
    if (WIFSIGNALED(wait_status)) output.err += std::string("terminated by signal ") + ::strsignal(WTERMSIG(wait_status));
  }
  return output;
}

}  // namespace roster::exec
