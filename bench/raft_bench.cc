// Raft engine throughput: three RaftNodes with a null state machine, each in
// its own process, on loopback, with their WALs on this machine's disk.
//
//   raft_bench [--proposers 1,16,64,256] [--duration 5] [--dir /var/tmp]
//
// The orchestrator (default mode) measures the disk's fsync latency with the
// WAL's own code (--fsync-probe alone does only that), then, for each
// proposer count, starts three copies of itself with --serve on free ports,
// each with a fresh data directory. The one elected leader runs P proposers
// (each proposes a 256-byte command and waits for it to be committed and
// applied, then the next) for a warm-up and then for --duration seconds, and
// prints its figures as one JSON line; the orchestrator then stops the three
// with SIGTERM (each prints its own storage figures) and reaps them.
// Every phase is bounded in time; a server also exits by itself after
// --max-seconds. The orchestrator prints a table and, last, one JSON line
// with everything (for bench/raft_bench.sh).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/raft/raft_node.h"
#include "agent/raft/storage.h"
#include "common/clock.h"
#include "common/env.h"

extern char** environ;

namespace {

using namespace roster;
using namespace roster::raft;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kCommandBytes = 256;
constexpr long kTmpfsMagic = 0x01021994;

double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The q-quantile of sorted samples.
template <typename T>
T quantile(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return T{};
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

void print_json_line(const Json& json) {
  std::printf("%s\n", json.dump().c_str());
  std::fflush(stdout);
}

std::shared_ptr<spdlog::logger> stderr_logger(const std::string& name, spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(level);
  return logger;
}

// ------------------------------------------------------------------ server

struct ServeOptions {
  ServerId id = kNoServer;
  uint16_t port = 0;
  std::string peers;  // "1=127.0.0.1:p1,2=...,3=..."
  std::string dir;
  int proposers = 1;
  double warmup_seconds = 1;
  double duration_seconds = 5;
  double max_seconds = 120;
  int tick_ms = 100;
};

Result<Configuration> parse_peers(const std::string& peers) {
  Configuration configuration;
  std::stringstream in(peers);
  for (std::string item; std::getline(in, item, ',');) {
    const size_t equals = item.find('=');
    if (equals == std::string::npos) return Status::invalid_argument("--peers: want id=ip:port, got " + item);
    configuration.servers.push_back(Server{std::stoull(item.substr(0, equals)), item.substr(equals + 1), true});
  }
  return configuration;
}

// The load, run by whichever server is elected leader. Lives on the strand.
class Load {
 public:
  Load(RaftNode& node, const ServeOptions& options)
      : node_(node), options_(options), command_(kCommandBytes, 'c') {}

  // A first proposal proves the leader committed an entry of its term; then
  // the proposers start.
  void start() {
    node_.propose(command_, [this](Result<Index> result) {
      if (!result.is_ok()) {
        started_ = false;  // try again on the next poll
        return;
      }
      const auto now = SteadyClock::now();
      window_start_ = now + std::chrono::duration_cast<SteadyClock::duration>(
                                std::chrono::duration<double>(options_.warmup_seconds));
      window_end_ = window_start_ + std::chrono::duration_cast<SteadyClock::duration>(
                                        std::chrono::duration<double>(options_.duration_seconds));
      running_ = options_.proposers;
      for (int i = 0; i < options_.proposers; ++i) propose_next();
    });
    started_ = true;
  }

  bool started() const { return started_; }
  bool finished() const { return started_ && running_ == 0 && window_end_ != SteadyClock::time_point{}; }

  // Called by the poll timer.
  void poll() {
    const auto now = SteadyClock::now();
    if (!window_opened_ && window_start_ != SteadyClock::time_point{} && now >= window_start_) {
      window_opened_ = true;
      at_start_ = node_.stats();
    }
    if (window_opened_ && !window_closed_ && now >= window_end_) {
      window_closed_ = true;
      at_end_ = node_.stats();
    }
  }

  Json result() const {
    std::vector<std::chrono::nanoseconds> sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    const double seconds = options_.duration_seconds;
    const GroupCommitStats& begin = at_start_.storage;
    const GroupCommitStats& end = at_end_.storage;
    const uint64_t syncs = end.syncs - begin.syncs;
    const uint64_t entries = end.entries - begin.entries;
    return Json{{"event", "result"},
                {"id", node_.id()},
                {"term", node_.term()},
                {"proposers", options_.proposers},
                {"duration_s", seconds},
                {"committed", committed_},
                {"commits_per_s", static_cast<double>(committed_) / seconds},
                {"p50_ms", ms(quantile(sorted, 0.50))},
                {"p99_ms", ms(quantile(sorted, 0.99))},
                {"max_ms", sorted.empty() ? 0.0 : ms(sorted.back())},
                {"errors", errors_},
                {"first_error", first_error_},
                {"syncs", syncs},
                {"entries_synced", entries},
                {"entries_per_fsync", syncs == 0 ? 0.0 : static_cast<double>(entries) / static_cast<double>(syncs)},
                {"batches_per_fsync",
                 syncs == 0 ? 0.0 : static_cast<double>(end.batches - begin.batches) / static_cast<double>(syncs)},
                {"fsync_p50_ms", ms(end.sync_p50)},
                {"fsync_p99_ms", ms(end.sync_p99)},
                {"appends_sent", at_end_.raft.appends_sent - at_start_.raft.appends_sent},
                {"frames_sent", at_end_.transport.frames_sent - at_start_.transport.frames_sent},
                {"dropped_queue_full", at_end_.transport.dropped_queue_full}};
  }

 private:
  void propose_next() {
    const auto started = SteadyClock::now();
    if (started >= window_end_) {
      --running_;
      return;
    }
    node_.propose(command_, [this, started](Result<Index> result) {
      const auto done = SteadyClock::now();
      if (!result.is_ok()) {
        ++errors_;
        if (first_error_.empty()) first_error_ = result.status().to_string();
        --running_;  // a lost leadership ends this proposer
        return;
      }
      if (started >= window_start_ && done <= window_end_) {
        ++committed_;
        latencies_.push_back(done - started);
      }
      propose_next();
    });
  }

  RaftNode& node_;
  const ServeOptions& options_;
  const std::string command_;
  bool started_ = false;
  int running_ = 0;
  SteadyClock::time_point window_start_{};
  SteadyClock::time_point window_end_{};
  bool window_opened_ = false;
  bool window_closed_ = false;
  RaftNodeStats at_start_;
  RaftNodeStats at_end_;
  uint64_t committed_ = 0;
  uint64_t errors_ = 0;
  std::string first_error_;
  std::vector<std::chrono::nanoseconds> latencies_;
};

int serve(const ServeOptions& options) {
  Result<Configuration> configuration = parse_peers(options.peers);
  if (!configuration.is_ok()) {
    std::fprintf(stderr, "%s\n", configuration.status().to_string().c_str());
    return 2;
  }
  boost::asio::io_context io{1};
  PosixEnv env;
  SystemClock clock;
  NullStateMachine state_machine;
  auto logger = stderr_logger("raft-" + std::to_string(options.id), spdlog::level::info);

  RaftNodeOptions node_options;
  node_options.raft.id = options.id;
  node_options.raft.election_ticks = 10;
  node_options.raft.heartbeat_ticks = 1;
  node_options.raft.seed = options.id;
  node_options.tick_interval = std::chrono::milliseconds(options.tick_ms);
  node_options.transport.cluster_id = "raft-bench";
  node_options.transport.bind_ip = "127.0.0.1";
  node_options.transport.port = options.port;
  node_options.data_dir = options.dir;
  node_options.bootstrap = configuration.value();
  Result<std::unique_ptr<RaftNode>> opened =
      RaftNode::open(io.get_executor(), env, clock, state_machine, node_options, logger);
  if (!opened.is_ok()) {
    logger->critical("cannot start: {}", opened.status().to_string());
    return 1;
  }
  std::unique_ptr<RaftNode> node = std::move(opened.value());
  Load load(*node, options);
  bool reported = false;

  auto finish = [&] {
    const RaftNodeStats stats = node->stats();
    print_json_line(Json{{"event", "stats"},
                         {"id", node->id()},
                         {"role", role_name(node->role())},
                         {"term", node->term()},
                         {"commit", node->commit_index()},
                         {"syncs", stats.storage.syncs},
                         {"entries_synced", stats.storage.entries},
                         {"entries_per_fsync", stats.storage.entries_per_sync()},
                         {"fsync_p50_ms", ms(stats.storage.sync_p50)},
                         {"fsync_p99_ms", ms(stats.storage.sync_p99)}});
    node.reset();
    io.stop();
  };

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& error, int) {
    if (!error) finish();
  });

  const auto give_up = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                 std::chrono::duration<double>(options.max_seconds));
  boost::asio::steady_timer poll_timer(io);
  std::function<void()> poll = [&] {
    if (!node) return;
    if (SteadyClock::now() > give_up) {
      logger->error("no SIGTERM within {} s; exiting", options.max_seconds);
      finish();
      return;
    }
    if (!load.started() && node->role() == Role::leader) load.start();
    load.poll();
    if (load.finished() && !reported) {
      reported = true;
      print_json_line(load.result());
    }
    poll_timer.expires_after(5ms);
    poll_timer.async_wait([&](const boost::system::error_code& error) {
      if (!error) poll();
    });
  };
  poll();
  io.run();
  return 0;
}

// ------------------------------------------------------------------ fsync probe

// Single-entry append + sync through Storage, as the WAL writes under no load.
Result<Json> fsync_probe(const std::string& dir, int count) {
  PosixEnv env;
  auto logger = stderr_logger("fsync-probe", spdlog::level::warn);
  std::filesystem::remove_all(dir);
  Result<std::unique_ptr<Storage>> storage = Storage::open(env, dir, StorageOptions{}, logger);
  if (!storage.is_ok()) return storage.status();
  std::vector<std::chrono::nanoseconds> latencies;
  for (int i = 1; i <= count; ++i) {
    const Entry entry{1, static_cast<Index>(i), EntryType::command, std::string(kCommandBytes, 'p')};
    const auto started = SteadyClock::now();
    Status status = (*storage)->append(std::span<const Entry>(&entry, 1));
    if (status.is_ok()) status = (*storage)->sync();
    if (!status.is_ok()) return status;
    latencies.push_back(SteadyClock::now() - started);
  }
  storage.value().reset();
  std::filesystem::remove_all(dir);
  std::sort(latencies.begin(), latencies.end());
  return Json{{"event", "fsync_probe"},
              {"count", count},
              {"p50_ms", ms(quantile(latencies, 0.50))},
              {"p99_ms", ms(quantile(latencies, 0.99))}};
}

// ------------------------------------------------------------------ orchestrator

struct Child {
  pid_t pid = -1;
  int out = -1;  // its stdout
  std::string pending;
  bool eof = false;
};

uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

Result<Child> spawn(const std::vector<std::string>& args, const std::string& log_path) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::internal("pipe failed");
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::internal("cannot open " + log_path);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  Child child;
  const int error = posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  close(log_fd);
  if (error != 0) {
    close(pipe_fds[0]);
    return Status::internal(std::string("posix_spawn: ") + strerror(error));
  }
  child.out = pipe_fds[0];
  return child;
}

// Reads whatever lines the children printed, for up to `wait`. Returns the
// JSON lines, tagged with the child's index.
std::vector<std::pair<size_t, Json>> read_lines(std::vector<Child>& children, std::chrono::milliseconds wait) {
  std::vector<pollfd> fds;
  std::vector<size_t> which;
  for (size_t i = 0; i < children.size(); ++i) {
    if (children[i].eof) continue;
    fds.push_back(pollfd{children[i].out, POLLIN, 0});
    which.push_back(i);
  }
  std::vector<std::pair<size_t, Json>> lines;
  if (fds.empty()) return lines;
  if (poll(fds.data(), fds.size(), static_cast<int>(wait.count())) <= 0) return lines;
  for (size_t k = 0; k < fds.size(); ++k) {
    if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    Child& child = children[which[k]];
    char buffer[4096];
    const ssize_t n = read(child.out, buffer, sizeof buffer);
    if (n <= 0) {
      child.eof = true;
      continue;
    }
    child.pending.append(buffer, static_cast<size_t>(n));
    for (size_t newline; (newline = child.pending.find('\n')) != std::string::npos;) {
      const std::string line = child.pending.substr(0, newline);
      child.pending.erase(0, newline + 1);
      Json json = Json::parse(line, nullptr, false);
      if (!json.is_discarded()) lines.emplace_back(which[k], std::move(json));
    }
  }
  return lines;
}

struct RunOptions {
  std::string self;
  std::string root;
  double warmup_seconds = 1;
  double duration_seconds = 5;
  int tick_ms = 100;
};

// One fresh three-server cluster, P proposers on its leader.
Json run_cluster(const RunOptions& options, int proposers) {
  const std::string dir = options.root + "/p" + std::to_string(proposers);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<uint16_t> ports;
  std::string peers;
  for (int i = 1; i <= 3; ++i) {
    ports.push_back(free_port());
    peers += (i > 1 ? "," : "") + std::to_string(i) + "=127.0.0.1:" + std::to_string(ports.back());
  }
  const double limit = 30 + options.warmup_seconds + options.duration_seconds;
  std::vector<Child> children;
  for (int i = 1; i <= 3; ++i) {
    std::vector<std::string> args{options.self,
                                  "--serve",
                                  "--id", std::to_string(i),
                                  "--port", std::to_string(ports[static_cast<size_t>(i - 1)]),
                                  "--peers", peers,
                                  "--dir", dir + "/n" + std::to_string(i),
                                  "--proposers", std::to_string(proposers),
                                  "--warmup", std::to_string(options.warmup_seconds),
                                  "--duration", std::to_string(options.duration_seconds),
                                  "--tick-ms", std::to_string(options.tick_ms),
                                  "--max-seconds", std::to_string(limit + 10)};
    Result<Child> child = spawn(args, dir + "/n" + std::to_string(i) + ".log");
    if (!child.is_ok()) {
      for (Child& started : children) kill(started.pid, SIGKILL);
      return Json{{"error", child.status().to_string()}};
    }
    children.push_back(std::move(child.value()));
  }

  Json result{{"error", "no result within " + std::to_string(static_cast<int>(limit)) + " s"}};
  const auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                 std::chrono::duration<double>(limit));
  bool have_result = false;
  while (!have_result && SteadyClock::now() < deadline) {
    for (auto& [index, json] : read_lines(children, 100ms)) {
      if (json.value("event", "") == "result") {
        result = json;
        have_result = true;
      }
    }
    if (std::all_of(children.begin(), children.end(), [](const Child& c) { return c.eof; })) break;
  }
  for (const Child& child : children) kill(child.pid, SIGTERM);
  Json followers = Json::array();
  const auto stop_deadline = SteadyClock::now() + 5s;
  while (SteadyClock::now() < stop_deadline &&
         !std::all_of(children.begin(), children.end(), [](const Child& c) { return c.eof; })) {
    for (auto& [index, json] : read_lines(children, 100ms)) {
      if (json.value("event", "") == "stats") followers.push_back(json);
    }
  }
  for (Child& child : children) {
    if (!child.eof) kill(child.pid, SIGKILL);
    waitpid(child.pid, nullptr, 0);
    close(child.out);
  }
  result["servers"] = followers;
  if (have_result) std::filesystem::remove_all(dir);  // keep the logs of a failed run
  return result;
}

std::vector<int> parse_counts(const std::string& text) {
  std::vector<int> counts;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) counts.push_back(std::stoi(item));
  return counts;
}

int orchestrate(RunOptions options, const std::string& proposer_list, int fsync_count, bool probe_only) {
  std::filesystem::create_directories(options.root);
  std::string pattern = options.root + "/raft-bench-XXXXXX";
  const char* made = mkdtemp(pattern.data());
  if (made == nullptr) {
    std::fprintf(stderr, "cannot make a directory under %s\n", options.root.c_str());
    return 1;
  }
  options.root = made;
  struct statfs fs {};
  const bool tmpfs = statfs(options.root.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kTmpfsMagic;
  std::printf("raft_bench: data under %s%s\n", options.root.c_str(),
              tmpfs ? " (WARNING: tmpfs, fsync is free here; pass --dir on a real disk)" : "");

  Json summary{{"event", "summary"}, {"dir", options.root}, {"tmpfs", tmpfs}};
  Result<Json> probe = fsync_probe(options.root + "/fsync-probe", fsync_count);
  if (!probe.is_ok()) {
    std::fprintf(stderr, "fsync probe failed: %s\n", probe.status().to_string().c_str());
    return 1;
  }
  summary["fsync_probe"] = probe.value();
  std::printf("disk fsync (Storage append of one %zu-byte entry + sync, %d times): p50 %.3f ms, p99 %.3f ms\n",
              kCommandBytes, fsync_count, probe.value()["p50_ms"].get<double>(),
              probe.value()["p99_ms"].get<double>());
  std::fflush(stdout);
  if (!probe_only) {
    std::printf("%10s %12s %9s %9s %12s %8s %8s\n", "proposers", "commits/s", "p50 ms", "p99 ms", "entries/fsync",
                "fsyncs", "errors");
    std::fflush(stdout);
    Json runs = Json::array();
    for (int proposers : parse_counts(proposer_list)) {
      Json run = run_cluster(options, proposers);
      run["proposers"] = proposers;
      if (run.contains("error")) {
        std::printf("%10d  error: %s (logs in %s/p%d)\n", proposers, run["error"].get<std::string>().c_str(),
                    options.root.c_str(), proposers);
      } else {
        std::printf("%10d %12.0f %9.2f %9.2f %12.1f %8llu %8llu\n", proposers, run["commits_per_s"].get<double>(),
                    run["p50_ms"].get<double>(), run["p99_ms"].get<double>(), run["entries_per_fsync"].get<double>(),
                    static_cast<unsigned long long>(run["syncs"].get<uint64_t>()),
                    static_cast<unsigned long long>(run["errors"].get<uint64_t>()));
      }
      std::fflush(stdout);
      runs.push_back(run);
    }
    summary["runs"] = runs;
  }
  print_json_line(summary);
  std::error_code ignored;
  std::filesystem::remove(options.root, ignored);  // only if every run cleaned up after itself
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Raft engine benchmark: three engines, one process each, on loopback, WAL on disk."};
  bool serve_mode = false;
  bool probe_only = false;
  ServeOptions serve_options;
  RunOptions run_options;
  std::string proposers = "1,16,64,256";
  std::string dir = "/var/tmp";
  int fsync_count = 500;
  app.add_flag("--serve", serve_mode, "run one server (started by the orchestrator)");
  app.add_option("--id", serve_options.id, "--serve: this server's ID");
  app.add_option("--port", serve_options.port, "--serve: its port on 127.0.0.1");
  app.add_option("--peers", serve_options.peers, "--serve: id=127.0.0.1:port,... for all three");
  app.add_option("--dir", dir, "where data directories go (a real disk, not tmpfs)")->capture_default_str();
  app.add_option("--proposers", proposers, "orchestrator: comma-separated proposer counts; --serve: one count")
      ->capture_default_str();
  app.add_option("--warmup", run_options.warmup_seconds, "seconds of load before measuring")->capture_default_str();
  app.add_option("--duration", run_options.duration_seconds, "seconds measured per proposer count")
      ->capture_default_str();
  app.add_option("--tick-ms", run_options.tick_ms, "Raft tick (election timeout is 10 ticks)")->capture_default_str();
  app.add_option("--max-seconds", serve_options.max_seconds, "--serve: exit after this long whatever happens");
  app.add_flag("--fsync-probe", probe_only, "only measure the disk's fsync latency through Storage");
  app.add_option("--fsync-count", fsync_count, "appends timed by the fsync probe")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (serve_mode) {
    serve_options.dir = dir;
    serve_options.proposers = std::stoi(proposers);
    serve_options.warmup_seconds = run_options.warmup_seconds;
    serve_options.duration_seconds = run_options.duration_seconds;
    serve_options.tick_ms = run_options.tick_ms;
    return serve(serve_options);
  }
  run_options.self = std::filesystem::canonical("/proc/self/exe").string();
  run_options.root = dir;
  return orchestrate(run_options, proposers, fsync_count, probe_only);
}
