// Blocking-query fan-out benchmark for a running `roster agent -dev`.
//
//   watchers_bench --port P --pid PID [--distinct 10000] [--hot 10000]
//                  [--park-deadline-s 120] [--quiet-window-ms 1000]
//
// 1. Reads the hot key's index, then opens `distinct` keep-alive connections
//    that each park a blocking GET on their own key
//    (/v1/kv/w/<i>?index=<idx>&wait=5m) and `hot` connections parked on one
//    key (/v1/kv/bench/hot?index=<idx>&wait=5m).
// 2. Polls /v1/agent/self until Stats.agent.blocking_watchers reaches
//    distinct + hot (or the deadline), then reads the agent's VmRSS.
// 3. PUTs the hot key and times until every hot connection has its full
//    response (clock: CLOCK_MONOTONIC, from just before the PUT is sent).
// 4. Watches for `quiet-window-ms` more: no distinct-key watcher may answer,
//    and blocking_watchers must be back to `distinct`.
//
// One process may not hold 20,000 sockets under a 20,000 fd hard limit, so the
// connections live in two forked workers (distinct and hot), each with its own
// epoll loop; they report to the parent over pipes. Exit status 0 when every
// check passed, 1 otherwise. Linux only; no dependencies.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "watchers_bench: %s\n", message.c_str());
  std::exit(2);
}

sockaddr_in agent_address(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// One request on a fresh connection (Connection: close); returns the raw response.
std::string request_once(int port, const std::string& method, const std::string& target, const std::string& body = "") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket: " + std::string(strerror(errno)));
  sockaddr_in address = agent_address(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    die("connect: " + std::string(strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = write(fd, request.data() + sent, request.size() - sent);
    if (n <= 0) die("write: " + std::string(strerror(errno)));
    sent += size_t(n);
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buffer, size_t(n));
  }
  close(fd);
  return response;
}

std::string header_value(const std::string& response, const std::string& name) {
  std::string needle = "\r\n" + name + ": ";
  auto at = response.find(needle);
  if (at == std::string::npos) return "";
  auto end = response.find("\r\n", at + needle.size());
  return response.substr(at + needle.size(), end - at - needle.size());
}

long blocking_watchers(int port) {
  std::string response = request_once(port, "GET", "/v1/agent/self");
  auto at = response.find("\"blocking_watchers\":\"");
  if (at == std::string::npos) die("no blocking_watchers in /v1/agent/self: " + response.substr(0, 300));
  return std::strtol(response.c_str() + at + 21, nullptr, 10);
}

long rss_kib(int pid) {
  FILE* file = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (file == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof(line), file)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  }
  std::fclose(file);
  return kib;
}

// User + system CPU time of a process (all threads), in milliseconds.
double cpu_ms(int pid) {
  FILE* file = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (file == nullptr) return -1;
  char text[4096];
  size_t n = std::fread(text, 1, sizeof(text) - 1, file);
  std::fclose(file);
  text[n] = '\0';
  const char* field = std::strrchr(text, ')');  // the command name may contain spaces
  if (field == nullptr) return -1;
  // After ") " come fields 3.. ; utime and stime are fields 14 and 15.
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(field + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return double(utime + stime) * 1000.0 / double(sysconf(_SC_CLK_TCK));
}

// Complete HTTP/1.1 responses in `data` (Content-Length framing only).
int count_complete_responses(std::string& data) {
  int complete = 0;
  for (;;) {
    auto end = data.find("\r\n\r\n");
    if (end == std::string::npos) return complete;
    std::string head = data.substr(0, end + 2);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    auto at = lower.find("\r\ncontent-length: ");
    size_t length = at == std::string::npos ? 0 : std::strtoul(lower.c_str() + at + 18, nullptr, 10);
    if (data.size() < end + 4 + length) return complete;
    data.erase(0, end + 4 + length);
    ++complete;
  }
}

// ---- worker: holds `count` parked connections ----

struct Connection {
  int fd = -1;
  std::string request;
  size_t sent = 0;
  bool connected = false;
  std::string inbox;
  int responses = 0;
  int64_t answered_ns = 0;
};

// Messages from a worker to the parent, one per line on its pipe:
//   "parked <n>"                  all requests written
//   "answered <i> <t_ns>"         connection i got its first full response
//   "closed <i>"                  the agent closed connection i
//   "error <text>"
struct Worker {
  pid_t pid = -1;
  int from_worker = -1;  // read end
  int to_worker = -1;    // write end: "stop\n" ends the worker
  std::string pending;
};

void worker_main(int port, const std::vector<std::string>& targets, int report_fd, int control_fd) {
  const size_t count = targets.size();
  int epoll = epoll_create1(0);
  if (epoll < 0) die("epoll_create1");
  std::vector<Connection> connections(count);
  sockaddr_in address = agent_address(port);
  auto report = [&](const std::string& line) {
    std::string text = line + "\n";
    if (write(report_fd, text.data(), text.size()) < 0) _exit(3);
  };
  // The control pipe is in the epoll set under index `count`.
  epoll_event control_event{};
  control_event.events = EPOLLIN;
  control_event.data.u64 = count;
  epoll_ctl(epoll, EPOLL_CTL_ADD, control_fd, &control_event);

  size_t next = 0;
  size_t in_flight = 0;  // connects not yet completed; bounded to stay under the listen backlog
  size_t parked = 0;
  bool parked_reported = false;
  constexpr size_t kMaxInFlight = 256;
  std::vector<epoll_event> events(1024);

  auto open_more = [&] {
    while (next < count && in_flight < kMaxInFlight) {
      Connection& c = connections[next];
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c.fd < 0) {
        report("error socket #" + std::to_string(next) + ": " + strerror(errno));
        _exit(4);
      }
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      c.request = "GET " + targets[next] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
      if (rc != 0 && errno != EINPROGRESS) {
        report("error connect #" + std::to_string(next) + ": " + strerror(errno));
        _exit(4);
      }
      epoll_event event{};
      event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
      event.data.u64 = next;
      epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event);
      ++in_flight;
      ++next;
    }
  };

  open_more();
  char buffer[65536];
  for (;;) {
    int n = epoll_wait(epoll, events.data(), int(events.size()), 1000);
    if (n < 0 && errno == EINTR) continue;
    for (int e = 0; e < n; ++e) {
      size_t index = events[e].data.u64;
      if (index == count) {  // parent says stop
        _exit(0);
      }
      Connection& c = connections[index];
      if (!c.connected && (events[e].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int error = 0;
        socklen_t length = sizeof(error);
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
          report("error connect #" + std::to_string(index) + ": " + strerror(error));
          _exit(4);
        }
        c.connected = true;
        --in_flight;
      }
      if (c.connected && c.sent < c.request.size() && (events[e].events & EPOLLOUT)) {
        ssize_t w = write(c.fd, c.request.data() + c.sent, c.request.size() - c.sent);
        if (w > 0) c.sent += size_t(w);
        if (c.sent == c.request.size()) {
          epoll_event event{};
          event.events = EPOLLIN | EPOLLRDHUP;
          event.data.u64 = index;
          epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &event);
          ++parked;
        }
      }
      if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
        for (;;) {
          ssize_t r = read(c.fd, buffer, sizeof(buffer));
          if (r > 0) {
            c.inbox.append(buffer, size_t(r));
            continue;
          }
          if (r == 0) {
            report("closed " + std::to_string(index));
            epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
            close(c.fd);
            c.fd = -1;
          }
          break;
        }
        int complete = count_complete_responses(c.inbox);
        if (complete > 0 && c.responses == 0) {
          c.answered_ns = now_ns();
          report("answered " + std::to_string(index) + " " + std::to_string(c.answered_ns));
        }
        c.responses += complete;
      }
    }
    open_more();
    if (!parked_reported && parked == count) {
      report("parked " + std::to_string(parked));
      parked_reported = true;
    }
  }
}

Worker spawn_worker(int port, const std::vector<std::string>& targets) {
  int up[2];
  int down[2];
  if (pipe(up) != 0 || pipe(down) != 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    // Free every descriptor the worker does not need, so all but a handful of
    // the fd limit is left for sockets.
    for (int fd = 3; fd < 64; ++fd) {
      if (fd != up[1] && fd != down[0]) close(fd);
    }
    close(STDIN_FILENO);
    worker_main(port, targets, up[1], down[0]);
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  fcntl(up[0], F_SETFL, O_NONBLOCK);
  return Worker{pid, up[0], down[1], ""};
}

struct Tally {
  size_t parked = 0;
  std::vector<int64_t> answered_ns;
  size_t closed = 0;
  std::vector<std::string> errors;
  bool parked_done = false;
};

// Drains whatever the worker has written so far.
void drain(Worker& worker, Tally& tally) {
  char buffer[65536];
  for (;;) {
    ssize_t n = read(worker.from_worker, buffer, sizeof(buffer));
    if (n <= 0) break;
    worker.pending.append(buffer, size_t(n));
  }
  size_t start = 0;
  for (;;) {
    size_t end = worker.pending.find('\n', start);
    if (end == std::string::npos) break;
    std::string_view line(worker.pending.data() + start, end - start);
    if (line.starts_with("parked ")) {
      tally.parked = std::strtoul(line.data() + 7, nullptr, 10);
      tally.parked_done = true;
    } else if (line.starts_with("answered ")) {
      const char* space = std::strchr(line.data() + 9, ' ');
      tally.answered_ns.push_back(std::strtoll(space + 1, nullptr, 10));
    } else if (line.starts_with("closed ")) {
      ++tally.closed;
    } else {
      tally.errors.emplace_back(line);
    }
    start = end + 1;
  }
  worker.pending.erase(0, start);
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

double percentile_ms(std::vector<int64_t> values, int64_t origin, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  size_t index = std::min(values.size() - 1, size_t(p * double(values.size() - 1) + 0.5));
  return double(values[index] - origin) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int agent_pid = 0;
  size_t distinct = 10000;
  size_t hot = 10000;
  int park_deadline_s = 120;
  int quiet_window_ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long value = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--port") port = int(value);
    else if (flag == "--pid") agent_pid = int(value);
    else if (flag == "--distinct") distinct = size_t(value);
    else if (flag == "--hot") hot = size_t(value);
    else if (flag == "--park-deadline-s") park_deadline_s = int(value);
    else if (flag == "--quiet-window-ms") quiet_window_ms = int(value);
    else die("unknown flag " + flag);
  }
  if (port == 0 || agent_pid == 0) die("usage: watchers_bench --port P --pid PID [--distinct N] [--hot N]");
  signal(SIGPIPE, SIG_IGN);

  std::string put = request_once(port, "PUT", "/v1/kv/bench/hot", "0");
  if (put.find(" 200 ") == std::string::npos) die("seeding the hot key failed: " + put);
  std::string got = request_once(port, "GET", "/v1/kv/bench/hot");
  std::string index = header_value(got, "X-Consul-Index");
  if (index.empty()) die("no X-Consul-Index on GET /v1/kv/bench/hot");
  long watchers_before = blocking_watchers(port);
  long rss_before = rss_kib(agent_pid);

  std::vector<std::string> distinct_targets;
  for (size_t i = 0; i < distinct; ++i) {
    distinct_targets.push_back("/v1/kv/w/" + std::to_string(i) + "?index=" + index + "&wait=5m");
  }
  std::vector<std::string> hot_targets(hot, "/v1/kv/bench/hot?index=" + index + "&wait=5m");

  const int64_t open_start = now_ns();
  Worker distinct_worker = spawn_worker(port, distinct_targets);
  Worker hot_worker = spawn_worker(port, hot_targets);
  Tally distinct_tally;
  Tally hot_tally;
  auto drain_both = [&] {
    drain(distinct_worker, distinct_tally);
    drain(hot_worker, hot_tally);
    for (const auto* tally : {&distinct_tally, &hot_tally}) {
      if (!tally->errors.empty()) die("worker: " + tally->errors.front());
    }
  };
  auto stop_workers = [&] {
    for (Worker* worker : {&distinct_worker, &hot_worker}) {
      if (write(worker->to_worker, "stop\n", 5) < 0) kill(worker->pid, SIGKILL);
      waitpid(worker->pid, nullptr, 0);
    }
  };

  // Park everything.
  const size_t expected = distinct + hot + size_t(watchers_before);
  long watchers = 0;
  const int64_t park_deadline = open_start + int64_t(park_deadline_s) * 1000000000;
  while (now_ns() < park_deadline) {
    drain_both();
    if (distinct_tally.parked_done && hot_tally.parked_done) {
      watchers = blocking_watchers(port);
      if (size_t(watchers) >= expected) break;
    }
    sleep_ms(50);
  }
  drain_both();
  const double park_seconds = double(now_ns() - open_start) / 1e9;
  std::printf("opened %zu distinct-key + %zu hot-key blocking GETs; agent reports blocking_watchers=%ld after %.2f s\n",
              distinct, hot, watchers, park_seconds);
  bool ok = true;
  if (size_t(watchers) < expected) {
    std::printf("FAIL: only %ld of %zu watchers parked before the deadline\n", watchers, expected);
    stop_workers();
    return 1;
  }
  if (!distinct_tally.answered_ns.empty() || !hot_tally.answered_ns.empty() || distinct_tally.closed + hot_tally.closed) {
    std::printf("FAIL: %zu/%zu watchers answered and %zu closed before the hot write\n",
                distinct_tally.answered_ns.size(), hot_tally.answered_ns.size(),
                distinct_tally.closed + hot_tally.closed);
    ok = false;
  }
  const long rss = rss_kib(agent_pid);
  std::printf("agent RSS: %.1f MiB with %ld parked watchers (%.1f MiB before opening them; %.2f KiB per watcher)\n",
              double(rss) / 1024, watchers, double(rss_before) / 1024,
              double(rss - rss_before) / double(distinct + hot));

  // Wake the hot key.
  const double cpu_before_wake = cpu_ms(agent_pid);
  const int64_t wake_start = now_ns();
  std::string wrote = request_once(port, "PUT", "/v1/kv/bench/hot", "1");
  const int64_t put_done = now_ns();
  if (wrote.find(" 200 ") == std::string::npos) die("hot PUT failed: " + wrote);
  const int64_t wake_deadline = wake_start + 30LL * 1000000000;
  while (hot_tally.answered_ns.size() < hot && now_ns() < wake_deadline) {
    drain_both();
    if (hot_tally.answered_ns.size() < hot) sleep_ms(1);
  }
  const double wake_cpu = cpu_ms(agent_pid) - cpu_before_wake;
  const size_t hot_answered = hot_tally.answered_ns.size();
  const double wake_ms = hot_answered == 0 ? -1 : percentile_ms(hot_tally.answered_ns, wake_start, 1.0);
  std::printf("hot-key PUT answered in %.2f ms; %zu/%zu hot watchers had their response after %.2f ms "
              "(first %.2f, p50 %.2f, p99 %.2f ms)\n",
              double(put_done - wake_start) / 1e6, hot_answered, hot, wake_ms,
              percentile_ms(hot_tally.answered_ns, wake_start, 0.0), percentile_ms(hot_tally.answered_ns, wake_start, 0.5),
              percentile_ms(hot_tally.answered_ns, wake_start, 0.99));
  std::printf("agent CPU time used by the wake: %.0f ms (%.1f us per woken watcher; 10 ms tick resolution)\n",
              wake_cpu, wake_cpu * 1000.0 / double(hot));
  if (hot_answered < hot) {
    std::printf("FAIL: only %zu of %zu hot watchers answered within 30 s\n", hot_answered, hot);
    ok = false;
  }

  // Quiet window: nobody else may answer.
  const int64_t quiet_end = now_ns() + int64_t(quiet_window_ms) * 1000000;
  while (now_ns() < quiet_end) {
    drain_both();
    sleep_ms(10);
  }
  drain_both();
  const long watchers_after = blocking_watchers(port);
  std::printf("after a %d ms quiet window: %zu distinct-key watchers answered, %zu connections closed, "
              "blocking_watchers=%ld (expected %zu)\n",
              quiet_window_ms, distinct_tally.answered_ns.size(), distinct_tally.closed + hot_tally.closed,
              watchers_after, distinct + size_t(watchers_before));
  if (!distinct_tally.answered_ns.empty() || size_t(watchers_after) != distinct + size_t(watchers_before)) {
    std::printf("FAIL: the hot write disturbed other watchers\n");
    ok = false;
  }
  const long rss_after = rss_kib(agent_pid);
  std::printf("agent RSS after the wake: %.1f MiB\n", double(rss_after) / 1024);

  std::printf("target RSS < 150 MiB: %s (%.1f MiB)\n", rss < 150 * 1024 ? "met" : "MISSED", double(rss) / 1024);
  std::printf("target hot wake of all %zu < 200 ms: %s (%.2f ms)\n", hot,
              hot_answered == hot && wake_ms < 200 ? "met" : "MISSED", wake_ms);
  std::printf("target no other watcher woken: %s\n",
              distinct_tally.answered_ns.empty() && size_t(watchers_after) == distinct + size_t(watchers_before)
                  ? "met"
                  : "MISSED");
  stop_workers();
  return ok ? 0 : 1;
}
