#include "agent/checks/check_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace roster::checks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A tiny HTTP server on 127.0.0.1:0, run by the test's io_context, whose
// answer the test can change between runs.
class TestHttpServer {
 public:
  explicit TestHttpServer(asio::io_context& io) : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
  }

  std::string url(const std::string& path = "/health") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }

  http::status status = http::status::ok;
  std::string body = "all good";
  std::chrono::milliseconds delay{0};
  int requests = 0;
  int responses_sent = 0;
  http::request<http::string_body> last_request;

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket_in, TestHttpServer& server_in)
        : socket(std::move(socket_in)), timer(socket.get_executor()), server(server_in) {}

    void start() {
      http::async_read(socket, buffer, request, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return;
        self->server.requests++;
        self->server.last_request = self->request;
        self->timer.expires_after(self->server.delay);
        self->timer.async_wait([self](beast::error_code) { self->respond(); });
      });
    }

    void respond() {
      response.result(server.status);
      response.version(11);
      response.body() = server.body;
      response.keep_alive(false);
      response.prepare_payload();
      http::async_write(socket, response, [self = shared_from_this()](beast::error_code, size_t) {
        self->server.responses_sent++;
        beast::error_code ignored;
        self->socket.shutdown(tcp::socket::shutdown_both, ignored);
      });
    }

    tcp::socket socket;
    asio::steady_timer timer;
    TestHttpServer& server;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(std::move(socket), *this)->start();
      accept();
    });
  }

  tcp::acceptor acceptor_;
};

// A port on 127.0.0.1 that nothing listens on.
int closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

bool process_gone(pid_t pid) {
  // A killed process may linger as a zombie until its reaper gets to it.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

class CheckRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { make_runner(fast_options()); }

  // The tests' checks run every 50-100 ms, below the 1 s production minimum.
  static RunnerOptions fast_options() {
    RunnerOptions options;
    options.min_interval = 1ms;
    return options;
  }

  void make_runner(RunnerOptions options) {
    runner_.reset();
    runner_ = std::make_unique<CheckRunner>(
        io_, std::move(options),
        [this](const std::string& id, const CheckResult& result) {
          changes_.push_back({id, result});
          if (on_change_hook_) on_change_hook_(id);
        },
        [this](const std::string& service_id) {
          deregistered_.push_back(service_id);
          if (on_deregister_hook_) on_deregister_hook_(service_id);
        });
  }

  // Runs the event loop until `done` holds or `limit` passes.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_for(5ms);
    }
    return true;
  }

  int changes_for(const std::string& id) const {
    int count = 0;
    for (const auto& change : changes_) count += change.first == id ? 1 : 0;
    return count;
  }

  std::optional<CheckResult> last_change(const std::string& id) const {
    for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
      if (it->first == id) return it->second;
    }
    return std::nullopt;
  }

  bool last_status_is(const std::string& id, const std::string& status) const {
    auto last = last_change(id);
    return last && last->status == status;
  }

  local::CheckDefinition http_check(const std::string& id, const std::string& url) const {
    local::CheckDefinition check;
    check.id = id;
    check.name = id;
    check.http = url;
    check.interval = 50ms;
    check.timeout = 1s;
    return check;
  }

  local::CheckDefinition script_check(const std::string& id, std::vector<std::string> args) const {
    local::CheckDefinition check;
    check.id = id;
    check.args = std::move(args);
    check.interval = 100ms;
    check.timeout = 5s;
    return check;
  }

  std::string temp_path(const std::string& name) const {
    return (std::filesystem::temp_directory_path() /
            ("roster-checks-" + std::to_string(::getpid()) + "-" + name))
        .string();
  }

  // Reads a pid the script wrote, once it has written all of it.
  static std::optional<pid_t> read_pid(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    if (!std::getline(in, text) || text.empty()) return std::nullopt;
    return static_cast<pid_t>(std::stol(text));
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  TestHttpServer server_{io_};
  std::vector<std::pair<std::string, CheckResult>> changes_;
  std::vector<std::string> deregistered_;
  std::function<void(const std::string&)> on_change_hook_;
  std::function<void(const std::string&)> on_deregister_hook_;
  std::unique_ptr<CheckRunner> runner_;
};

// --- Validation ------------------------------------------------------------

TEST_F(CheckRunnerTest, RejectsACheckWithoutAKind) {
  local::CheckDefinition check;
  check.id = "empty";
  Status status = runner_->add(check);
  EXPECT_EQ(status.code(), StatusCode::invalid_argument);
  EXPECT_FALSE(runner_->current("empty"));
}

TEST_F(CheckRunnerTest, RejectsBadDefinitions) {
  auto no_scheme = http_check("no-scheme", "127.0.0.1:80/health");
  EXPECT_EQ(runner_->add(no_scheme).code(), StatusCode::invalid_argument);

  local::CheckDefinition no_port;
  no_port.id = "no-port";
  no_port.tcp = "127.0.0.1";
  EXPECT_EQ(runner_->add(no_port).code(), StatusCode::invalid_argument);

  auto bad_status = http_check("bad-status", server_.url());
  bad_status.status = "fine";
  EXPECT_EQ(runner_->add(bad_status).code(), StatusCode::invalid_argument);

  auto two_kinds = http_check("two-kinds", server_.url());
  two_kinds.ttl = 1s;
  EXPECT_EQ(runner_->add(two_kinds).code(), StatusCode::invalid_argument);

  auto no_interval = http_check("no-interval", server_.url());
  no_interval.interval = 0s;
  EXPECT_EQ(runner_->add(no_interval).code(), StatusCode::invalid_argument);
}

TEST_F(CheckRunnerTest, ScriptChecksAreRejectedUnlessEnabled) {
  Status status = runner_->add(script_check("script", {"/bin/sh", "-c", "exit 0"}));
  EXPECT_EQ(status.code(), StatusCode::permission_denied);
  EXPECT_EQ(status.message(), "script checks are disabled; set enable_script_checks");
  EXPECT_FALSE(runner_->current("script"));
}

// --- TTL -------------------------------------------------------------------

TEST_F(CheckRunnerTest, TtlCheckStartsCriticalAndTakesUpdates) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 10s;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(runner_->current("ttl"));
  EXPECT_EQ(runner_->current("ttl")->status, "critical");

  ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "all fine").is_ok());
  EXPECT_EQ(runner_->current("ttl")->status, "passing");  // visible at once
  ASSERT_TRUE(run_until([&] { return changes_for("ttl") == 1; }));
  EXPECT_EQ(last_change("ttl")->status, "passing");
  EXPECT_EQ(last_change("ttl")->output, "all fine");

  // The same status and output again is not a change.
  ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "all fine").is_ok());
  ASSERT_TRUE(runner_->update_ttl("ttl", "warning", "slow").is_ok());
  ASSERT_TRUE(run_until([&] { return changes_for("ttl") == 2; }));
  EXPECT_EQ(last_change("ttl")->status, "warning");
}

TEST_F(CheckRunnerTest, TtlCheckExpiresToCritical) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 200ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "ok").is_ok());
  auto updated = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return last_status_is("ttl", "critical"); }));
  EXPECT_GE(std::chrono::steady_clock::now() - updated, 190ms);
  EXPECT_EQ(last_change("ttl")->output, "TTL expired");
  EXPECT_EQ(runner_->current("ttl")->status, "critical");
  EXPECT_EQ(changes_for("ttl"), 2);  // passing, then critical
}

TEST_F(CheckRunnerTest, TtlUpdatesKeepTheCheckAlive) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 300ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "ok").is_ok());
  // Refresh well inside the TTL for longer than two TTLs.
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 800ms) {
    auto refresh_at = std::chrono::steady_clock::now() + 100ms;
    run_until([&] { return std::chrono::steady_clock::now() >= refresh_at; });
    ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "ok").is_ok());
  }
  EXPECT_EQ(runner_->current("ttl")->status, "passing");
  EXPECT_EQ(changes_for("ttl"), 1);
}

TEST_F(CheckRunnerTest, UpdateTtlErrors) {
  EXPECT_EQ(runner_->update_ttl("nope", "passing", "").code(), StatusCode::not_found);
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  EXPECT_EQ(runner_->update_ttl("web", "passing", "").code(), StatusCode::invalid_argument);
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 10s;
  ASSERT_TRUE(runner_->add(check).is_ok());
  EXPECT_EQ(runner_->update_ttl("ttl", "ok", "").code(), StatusCode::invalid_argument);
  EXPECT_EQ(runner_->current("ttl")->status, "critical");
}

TEST_F(CheckRunnerTest, InitialStatusComesFromTheDefinitionAndIsNotReported) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 10s;
  check.status = "passing";
  ASSERT_TRUE(runner_->add(check).is_ok());
  EXPECT_EQ(runner_->current("ttl")->status, "passing");
  io_.run_for(20ms);
  EXPECT_TRUE(changes_.empty());
}

TEST_F(CheckRunnerTest, AddingTheSameIdReplacesTheCheck) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 100ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "ok").is_ok());
  check.ttl = 10s;
  check.status = "warning";
  ASSERT_TRUE(runner_->add(check).is_ok());
  EXPECT_EQ(runner_->current("ttl")->status, "warning");
  // The old check's pending report and 100ms expiry are gone with it.
  auto start = std::chrono::steady_clock::now();
  run_until([&] { return std::chrono::steady_clock::now() - start >= 300ms; });
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(runner_->current("ttl")->status, "warning");
}

// --- HTTP ------------------------------------------------------------------

TEST_F(CheckRunnerTest, HttpStatusCodesMapToCheckStatuses) {
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "passing"); }));
  EXPECT_EQ(last_change("web")->output, "HTTP GET " + server_.url() + ": 200 OK Output: all good");

  server_.status = http::status::too_many_requests;
  server_.body = "slow down";
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "warning"); }));
  EXPECT_EQ(last_change("web")->output, "HTTP GET " + server_.url() + ": 429 Too Many Requests Output: slow down");

  server_.status = http::status::internal_server_error;
  server_.body = "boom";
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "critical"); }));
  EXPECT_EQ(last_change("web")->output,
            "HTTP GET " + server_.url() + ": 500 Internal Server Error Output: boom");

  server_.status = http::status::no_content;
  server_.body = "";
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "passing"); }));
  EXPECT_EQ(runner_->current("web")->status, "passing");
}

// Consul raises an interval below checks.MinInterval (1 s) to 1 s; "1ns"
// must not run the probe back to back.
TEST_F(CheckRunnerTest, IntervalBelowOneSecondIsRaisedToOneSecond) {
  make_runner(RunnerOptions{});
  local::CheckDefinition check = http_check("spin", server_.url());
  check.interval = std::chrono::nanoseconds(1);
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return server_.requests >= 1; }));
  auto first = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return server_.requests >= 2; }, 5s));
  auto gap = std::chrono::steady_clock::now() - first;
  EXPECT_GE(gap, 900ms) << "second run after "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms";
  EXPECT_EQ(server_.requests, 2);
}

TEST_F(CheckRunnerTest, OnlyChangesAreReported) {
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  ASSERT_TRUE(run_until([&] { return server_.requests >= 6; }));
  ASSERT_TRUE(run_until([&] { return server_.responses_sent >= 6; }));
  EXPECT_EQ(changes_for("web"), 1);  // critical -> passing, then five quiet runs
  EXPECT_EQ(runner_->current("web")->status, "passing");
}

TEST_F(CheckRunnerTest, HttpSendsMethodAndHeaders) {
  auto check = http_check("web", server_.url("/ready?full=1"));
  check.http_method = "PUT";
  check.http_headers["X-Check-Token"] = {"secret"};
  check.http_headers["Accept"] = {"application/json"};
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "passing"); }));
  EXPECT_EQ(server_.last_request.method(), http::verb::put);
  EXPECT_EQ(server_.last_request.target(), "/ready?full=1");
  EXPECT_EQ(server_.last_request["X-Check-Token"], "secret");
  EXPECT_EQ(server_.last_request[http::field::accept], "application/json");
  EXPECT_THAT(last_change("web")->output, StartsWith("HTTP PUT "));
}

TEST_F(CheckRunnerTest, SlowHttpResponseTimesOut) {
  server_.delay = 2s;
  auto check = http_check("web", server_.url());
  check.status = "passing";
  check.timeout = 150ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "critical"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_EQ(last_change("web")->output, "HTTP GET " + server_.url() + ": timed out after 150ms");
}

TEST_F(CheckRunnerTest, HttpConnectionRefusedIsCritical) {
  std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/health";
  auto check = http_check("web", url);
  check.status = "passing";
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "critical"); }));
  EXPECT_EQ(last_change("web")->output, "HTTP GET " + url + ": Connection refused");
}

TEST_F(CheckRunnerTest, HttpOutputIsTruncated) {
  RunnerOptions options = fast_options();
  options.max_output_bytes = 100;
  make_runner(options);
  server_.body = std::string(10000, 'x');
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "passing"); }));
  EXPECT_EQ(last_change("web")->output.size(), 100u);
  EXPECT_THAT(last_change("web")->output, StartsWith("HTTP GET " + server_.url() + ": 200 OK Output: xxx"));
}

TEST_F(CheckRunnerTest, HttpsToAPlainServerIsCritical) {
  std::string url = server_.url();
  url.replace(0, 4, "https");
  auto check = http_check("web", url);
  check.status = "passing";
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("web", "critical"); }));
  EXPECT_THAT(last_change("web")->output, StartsWith("HTTP GET " + url + ": "));
}

// --- TCP -------------------------------------------------------------------

TEST_F(CheckRunnerTest, TcpCheckPassesWhenThePortIsOpen) {
  tcp::acceptor listener(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::string address = "127.0.0.1:" + std::to_string(listener.local_endpoint().port());
  local::CheckDefinition check;
  check.id = "tcp";
  check.tcp = address;
  check.interval = 50ms;
  check.timeout = 1s;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("tcp", "passing"); }));
  EXPECT_EQ(last_change("tcp")->output, "TCP connect " + address + ": Success");

  listener.close();
  ASSERT_TRUE(run_until([&] { return last_status_is("tcp", "critical"); }));
  EXPECT_EQ(last_change("tcp")->output, "TCP connect " + address + ": Connection refused");
}

// --- Scripts ---------------------------------------------------------------

class ScriptCheckTest : public CheckRunnerTest {
 protected:
  void SetUp() override {
    RunnerOptions options = fast_options();
    options.enable_script_checks = true;
    make_runner(options);
  }
};

TEST_F(ScriptCheckTest, ExitCodesMapToStatuses) {
  ASSERT_TRUE(runner_->add(script_check("pass", {"/bin/sh", "-c", "echo fine; exit 0"})).is_ok());
  ASSERT_TRUE(runner_->add(script_check("warn", {"/bin/sh", "-c", "echo out; echo err >&2; exit 1"})).is_ok());
  ASSERT_TRUE(runner_->add(script_check("crit", {"/bin/sh", "-c", "exit 2"})).is_ok());
  ASSERT_TRUE(run_until([&] {
    return last_status_is("pass", "passing") && last_status_is("warn", "warning") && changes_for("crit") == 0 &&
           runner_->current("crit")->output.empty();
  }));
  EXPECT_EQ(last_change("pass")->output, "fine\n");
  EXPECT_EQ(last_change("warn")->output, "out\nerr\n");
  EXPECT_EQ(runner_->current("crit")->status, "critical");

  auto crit = script_check("crit2", {"/bin/sh", "-c", "echo broken; exit 2"});
  crit.status = "passing";
  ASSERT_TRUE(runner_->add(crit).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("crit2", "critical"); }));
  EXPECT_EQ(last_change("crit2")->output, "broken\n");
}

TEST_F(ScriptCheckTest, MissingProgramIsCritical) {
  auto check = script_check("missing", {"/nonexistent/roster-check"});
  check.status = "passing";
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("missing", "critical"); }));
  EXPECT_THAT(last_change("missing")->output, HasSubstr("/nonexistent/roster-check"));
}

TEST_F(ScriptCheckTest, TimeoutKillsTheWholeProcessGroup) {
  std::string pid_file = temp_path("timeout-pid");
  std::remove(pid_file.c_str());
  // The script starts a grandchild and waits on it: both must die.
  auto check = script_check("slow", {"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"});
  check.status = "passing";
  check.timeout = 300ms;
  check.interval = 10s;
  ASSERT_TRUE(runner_->add(check).is_ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return last_status_is("slow", "critical"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(last_change("slow")->output, "Timed out (300ms) running check");
  auto grandchild = read_pid(pid_file);
  ASSERT_TRUE(grandchild);
  EXPECT_TRUE(run_until([&] { return process_gone(*grandchild); }, 3s));
  std::remove(pid_file.c_str());
}

TEST_F(ScriptCheckTest, OutputIsTruncated) {
  RunnerOptions options = fast_options();
  options.enable_script_checks = true;
  options.max_output_bytes = 64;
  make_runner(options);
  // Far more than a pipe buffer holds: the script must not block on it.
  auto check = script_check("chatty", {"/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done"});
  check.status = "critical";
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("chatty", "passing"); }));
  EXPECT_EQ(last_change("chatty")->output.size(), 64u);
  EXPECT_THAT(last_change("chatty")->output, StartsWith("line0\nline1\n"));
}

TEST_F(ScriptCheckTest, RemoveDuringARunKillsTheScriptAndStaysQuiet) {
  std::string pid_file = temp_path("remove-pid");
  std::remove(pid_file.c_str());
  auto check = script_check("slow", {"/bin/sh", "-c", "echo $$ > " + pid_file + "; exec sleep 30"});
  check.status = "passing";
  check.timeout = 30s;
  ASSERT_TRUE(runner_->add(check).is_ok());
  std::optional<pid_t> pid;
  ASSERT_TRUE(run_until([&] {
    pid = read_pid(pid_file);
    return pid.has_value();
  }));
  auto start = std::chrono::steady_clock::now();
  runner_->remove("slow");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(runner_->current("slow"));
  EXPECT_TRUE(run_until([&] { return process_gone(*pid); }, 3s));
  io_.run_for(50ms);
  EXPECT_TRUE(changes_.empty());
  std::remove(pid_file.c_str());
}

TEST_F(ScriptCheckTest, DestroyingTheRunnerDuringARunIsSafe) {
  std::string pid_file = temp_path("destroy-pid");
  std::remove(pid_file.c_str());
  auto check = script_check("slow", {"/bin/sh", "-c", "echo $$ > " + pid_file + "; exec sleep 30"});
  check.timeout = 30s;
  ASSERT_TRUE(runner_->add(check).is_ok());
  std::optional<pid_t> pid;
  ASSERT_TRUE(run_until([&] {
    pid = read_pid(pid_file);
    return pid.has_value();
  }));
  runner_.reset();
  EXPECT_TRUE(run_until([&] { return process_gone(*pid); }, 3s));
  io_.run_for(50ms);
  EXPECT_TRUE(changes_.empty());
  std::remove(pid_file.c_str());
}

// --- Removal and deregistration ------------------------------------------

TEST_F(CheckRunnerTest, RemoveDuringAnHttpRunStaysQuiet) {
  server_.delay = 200ms;
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  ASSERT_TRUE(run_until([&] { return server_.requests == 1; }));
  runner_->remove("web");
  // Let the server answer the abandoned request, then some.
  ASSERT_TRUE(run_until([&] { return server_.responses_sent == 1; }));
  io_.run_for(100ms);
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(server_.requests, 1);
  EXPECT_FALSE(runner_->current("web"));
}

TEST_F(CheckRunnerTest, RemoveFromInsideOnChangeIsSafe) {
  on_change_hook_ = [this](const std::string& id) { runner_->remove(id); };
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  ASSERT_TRUE(run_until([&] { return changes_for("web") == 1; }));
  int requests = server_.requests;
  io_.run_for(200ms);
  EXPECT_EQ(server_.requests, requests);  // no further runs
  EXPECT_EQ(changes_for("web"), 1);
}

TEST_F(CheckRunnerTest, DeregisterCriticalServiceAfterFiresOnce) {
  server_.status = http::status::internal_server_error;
  auto check = http_check("web-health", server_.url());
  check.service_id = "web";
  check.deregister_critical_service_after = 200ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return deregistered_.size() == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_EQ(deregistered_[0], "web");
  // The check keeps running and stays critical; no second request.
  int requests = server_.requests;
  ASSERT_TRUE(run_until([&] { return server_.requests >= requests + 5; }));
  EXPECT_EQ(deregistered_.size(), 1u);
}

TEST_F(CheckRunnerTest, DeregisterWaitsForACriticalSpellLongEnough) {
  auto check = http_check("web-health", server_.url());
  check.service_id = "web";
  check.deregister_critical_service_after = 300ms;
  check.status = "passing";
  ASSERT_TRUE(runner_->add(check).is_ok());
  // Healthy for a while: nothing happens.
  ASSERT_TRUE(run_until([&] { return server_.requests >= 8; }));
  EXPECT_TRUE(deregistered_.empty());
  // Critical: the service goes, and the agent removes its check from the callback.
  on_deregister_hook_ = [this](const std::string&) { runner_->remove("web-health"); };
  server_.status = http::status::service_unavailable;
  ASSERT_TRUE(run_until([&] { return last_status_is("web-health", "critical"); }));
  auto critical_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return deregistered_.size() == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - critical_at, 250ms);
  EXPECT_FALSE(runner_->current("web-health"));
}

TEST_F(CheckRunnerTest, TtlExpiryCountsTowardsDeregistration) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.service_id = "worker";
  check.ttl = 100ms;
  check.status = "passing";
  check.deregister_critical_service_after = 150ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("ttl", "critical"); }));
  ASSERT_TRUE(run_until([&] { return deregistered_.size() == 1; }));
  EXPECT_EQ(deregistered_[0], "worker");
}

TEST_F(CheckRunnerTest, NodeChecksNeverDeregister) {
  local::CheckDefinition check;
  check.id = "ttl";
  check.ttl = 50ms;
  check.deregister_critical_service_after = 0ms;
  ASSERT_TRUE(runner_->add(check).is_ok());
  ASSERT_TRUE(run_until([&] { return last_status_is("ttl", "critical"); }));
  EXPECT_EQ(last_change("ttl")->output, "TTL expired");
  io_.run_for(50ms);
  EXPECT_TRUE(deregistered_.empty());
}

TEST_F(CheckRunnerTest, StopEndsEverything) {
  ASSERT_TRUE(runner_->add(http_check("web", server_.url())).is_ok());
  ASSERT_TRUE(run_until([&] { return server_.requests >= 1; }));
  runner_->stop();
  EXPECT_FALSE(runner_->current("web"));
  EXPECT_EQ(runner_->add(http_check("web", server_.url())).code(), StatusCode::unavailable);
  int requests = server_.requests;
  io_.run_for(200ms);
  EXPECT_EQ(server_.requests, requests);
}

}  // namespace
}  // namespace roster::checks
