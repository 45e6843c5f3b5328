#include "agent/checks/script_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/child_process.h"
#include "common/duration.h"

extern char** environ;

namespace roster::checks {
namespace {

namespace asio = boost::asio;
using std::chrono::steady_clock;

// How often the worker looks at the cancel flag and the child's state.
constexpr int kPollMillis = 10;

class ScriptProbe final : public Probe, public std::enable_shared_from_this<ScriptProbe> {
 public:
  ScriptProbe(asio::io_context& io, ProbeCallback done) : io_(io), done_(std::move(done)) {}
  ~ScriptProbe() override { cancel(); }

  void start(std::vector<std::string> args, std::chrono::nanoseconds timeout, size_t max_output_bytes) {
    worker_ = std::thread([io = &io_, weak = weak_from_this(), cancelled = cancelled_, args = std::move(args), timeout,
                           max_output_bytes] {
      auto result = run_script(args, timeout, max_output_bytes, *cancelled);
      if (!result) return;
      asio::post(*io, [weak, result = std::move(*result)]() mutable {
        if (auto self = weak.lock()) self->complete(std::move(result));
      });
    });
  }

  void cancel() override {
    cancelled_->store(true);
    done_ = nullptr;
    if (worker_.joinable()) worker_.join();
  }

 private:
  void complete(CheckResult result) {
    if (worker_.joinable()) worker_.join();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
  }

  asio::io_context& io_;
  ProbeCallback done_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  std::thread worker_;
};

}  // namespace

std::optional<CheckResult> run_script(const std::vector<std::string>& args, std::chrono::nanoseconds timeout,
                                      size_t max_output_bytes, const std::atomic<bool>& cancelled) {
  if (args.empty()) return CheckResult{kCritical, "script check has no arguments"};
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return CheckResult{kCritical, std::string("cannot create pipe: ") + std::strerror(errno)};
  }
  FileDescriptor read_end(pipe_fds[0]);
  FileDescriptor write_end(pipe_fds[1]);

  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  // The agent's own sockets and files must not leak into (and outlive in) the script.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigset_t all_signals;
  sigemptyset(&no_signals);
  sigfillset(&all_signals);
  // Own process group, so a timeout can kill whatever the script started;
  // default signal handling, whatever the agent ignores or blocks.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &all_signals);

  pid_t pid = 0;
  int spawn_error = ::posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  write_end.reset();
  if (spawn_error != 0) {
    return CheckResult{kCritical, "failed to run \"" + args[0] + "\": " + std::strerror(spawn_error)};
  }
  ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);

  std::string output;
  auto deadline = steady_clock::now() + timeout;
  bool open = true;
  int wait_status = 0;
  while (true) {
    if (cancelled.load()) {
      kill_group_and_reap(pid);
      return std::nullopt;
    }
    auto now = steady_clock::now();
    if (now >= deadline) {
      kill_group_and_reap(pid);
      return CheckResult{kCritical, "Timed out (" + format_go_duration(timeout) + ") running check"};
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    int wait_millis = static_cast<int>(std::min<long long>(remaining, kPollMillis));
    pollfd poll_fd{read_end.get(), POLLIN, 0};
    // After end of file there is nothing to watch but the child itself.
    ::poll(open ? &poll_fd : nullptr, open ? 1 : 0, wait_millis);
    // A few bytes over the limit let truncate_output cut on a character boundary.
    if (open) open = drain_pipe(read_end.get(), output, max_output_bytes + 4);

    pid_t waited = ::waitpid(pid, &wait_status, WNOHANG);
    if (waited == pid) {
      // Whatever the script wrote before exiting is in the pipe now. A
      // background child may keep the pipe open; do not wait for it.
      if (open) drain_pipe(read_end.get(), output, max_output_bytes + 4);
      break;
    }
    if (waited < 0 && errno != EINTR) {
      return CheckResult{kCritical, std::string("cannot wait for script: ") + std::strerror(errno)};
    }
  }

  CheckResult result;
  if (WIFEXITED(wait_status)) {
    int code = WEXITSTATUS(wait_status);
    result.status = code == 0 ? kPassing : code == 1 ? kWarning : kCritical;
  } else {
    result.status = kCritical;
    if (WIFSIGNALED(wait_status) && output.empty()) {
      output = std::string("terminated by signal ") + ::strsignal(WTERMSIG(wait_status));
    }
  }
  result.output = truncate_output(std::move(output), max_output_bytes);
  return result;
}

std::shared_ptr<Probe> start_script_probe(asio::io_context& io, std::vector<std::string> args,
                                          std::chrono::nanoseconds timeout, size_t max_output_bytes,
                                          ProbeCallback done) {
  auto probe = std::make_shared<ScriptProbe>(io, std::move(done));
  probe->start(std::move(args), timeout, max_output_bytes);
  return probe;
}

}  // namespace roster::checks
