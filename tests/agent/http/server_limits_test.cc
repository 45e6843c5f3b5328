// The HTTP adapter under hostile or careless clients, with the server's loop
// run by the test thread so the order of handlers is the test's to choose:
// a wake-up and a deadline in the same loop turn, clients that leave while
// parked, clients over their connection limit, clients that never read, and
// accept() failing for want of descriptors.

#include "tests/fakes/write_now.h"
#include "agent/http/server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "common/clock.h"
#include "common/open_files_limit.h"
#include "tests/agent/http/raw_response.h"

namespace roster::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

using Reply = testing::RawResponse;

Reply read_reply(tcp::socket& socket, asio::streambuf& buffer) { return testing::read_response(socket, buffer); }

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

std::string header(const Reply& reply, const std::string& name) { return testing::header_value(reply, name); }

class ServerLimits : public ::testing::Test {
 protected:
  static agent::CoreOptions core_options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:0", true};
    return options;
  }

  void start(ServerOptions options) {
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(io_, api_, core_.watch_hub(), options);
    ASSERT_TRUE(core_.start().is_ok());
    ASSERT_TRUE(server_->start().is_ok());
    endpoint_ = tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port());
  }

  void TearDown() override {
    if (server_) server_->stop();
    core_.stop();
    io_.poll();
  }

  // Runs the server's loop on this thread until `done` holds or the time is up.
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = steady_clock::now() + limit;
    while (!done()) {
      if (steady_clock::now() >= deadline) return false;
      io_.run_one_for(5ms);
    }
    return true;
  }

  void put_kv(const std::string& key, const std::string& value) {
    catalog::KvCommand command;
    command.key = key;
    command.value = value;
    ASSERT_TRUE(agent::testing::write_now(core_, command).is_ok());
  }

  asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_{io_, clock_, core_options()};
  Api api_{core_};
  std::unique_ptr<HttpServer> server_;
  tcp::endpoint endpoint_;
  asio::io_context client_io_;
};

// The key a blocking read waits on changes in the same loop turn in which its
// deadline passes, and the wake-up is handled first: the deadline's
// completion is then already queued. The read must be answered once. An
// extra answer would be read as the reply to the client's next request.
TEST_F(ServerLimits, AParkedReadIsAnsweredOnceWhenItsWakeAndDeadlineMeet) {
  start(ServerOptions{});
  put_kv("race", "1");
  const std::string index = std::to_string(core_.store().last_index());
  tcp::socket client(client_io_);
  client.connect(endpoint_);
  asio::streambuf buffer;
  const auto wait = 100ms;
  asio::write(client, asio::buffer(get("/v1/kv/race?raw&index=" + index + "&wait=100ms")));
  ASSERT_TRUE(pump_until([&] { return core_.watch_hub().waiter_count() == 1; }));
  const auto parked = steady_clock::now();

  // Past the deadline (wait plus at most wait/16 of jitter), with the loop
  // idle, so the timer has expired but its completion is not queued yet.
  while (steady_clock::now() < parked + wait + wait / 16 + 20ms) {
  }
  // The write posts the wake-up; the loop's next turn then finds the expired
  // deadline and queues its completion behind it.
  put_kv("race", "2");
  io_.poll();

  auto first = std::async(std::launch::async, [&] { return read_reply(client, buffer); });
  ASSERT_TRUE(pump_until([&] { return first.wait_for(0s) == std::future_status::ready; }));
  EXPECT_EQ(first.get().body, "2");

  asio::write(client, asio::buffer(get("/v1/status/leader")));
  auto second = std::async(std::launch::async, [&] { return read_reply(client, buffer); });
  ASSERT_TRUE(pump_until([&] { return second.wait_for(0s) == std::future_status::ready; }));
  Reply leader = second.get();
  EXPECT_EQ(leader.status, 200);
  EXPECT_EQ(header(leader, "Content-Type"), "application/json") << "a second answer to the parked read: "
                                                                  << leader.head << "\n" << leader.body;
}

// 2,000 clients park blocking reads and then reset their connections. Each
// parked request must notice at once, and give back its watcher, socket and
// descriptor.
TEST_F(ServerLimits, ClientsThatResetWhileParkedAreFreedWithinASecond) {
  ASSERT_TRUE(raise_open_files_limit().is_ok());
  auto limit = open_files_limit();
  ASSERT_TRUE(limit.is_ok());
  if (limit->soft < 4200) GTEST_SKIP() << "needs 4,200 descriptors; the hard limit is " << limit->hard;
  ServerOptions options;
  options.max_conns_per_client = 0;
  start(options);
  put_kv("quiet", "1");
  const std::string request = get("/v1/kv/quiet?index=" + std::to_string(core_.store().last_index()) + "&wait=10m");
  constexpr size_t kClients = 2000;
  std::vector<tcp::socket> clients;
  clients.reserve(kClients);
  for (size_t i = 0; i < kClients; ++i) {
    clients.emplace_back(client_io_);
    clients.back().connect(endpoint_);
    asio::write(clients.back(), asio::buffer(request));
    if (i % 100 == 99) io_.poll();  // keep the listen backlog short
  }
  ASSERT_TRUE(pump_until([&] { return core_.watch_hub().waiter_count() == kClients; }, 60s))
      << core_.watch_hub().waiter_count() << " parked";
  EXPECT_EQ(server_->stats().open_connections, kClients);

  for (auto& client : clients) {
    client.set_option(asio::socket_base::linger(true, 0));  // close() then sends a reset
    client.close();
  }
  const auto reset = steady_clock::now();
  EXPECT_TRUE(pump_until([&] { return core_.watch_hub().waiter_count() == 0; }, 1s))
      << core_.watch_hub().waiter_count() << " watchers left after a second";
  EXPECT_TRUE(pump_until([&] { return server_->stats().open_connections == 0; }, 1s))
      << server_->stats().open_connections << " connections left";
  EXPECT_LT(steady_clock::now() - reset, 1s);
  EXPECT_EQ(server_->stats().abandoned_waits, kClients);
}

// A client that closes its side after its request (a plain FIN) is gone too.
TEST_F(ServerLimits, AClientThatClosesWhileParkedIsFreed) {
  start(ServerOptions{});
  put_kv("quiet", "1");
  tcp::socket client(client_io_);
  client.connect(endpoint_);
  asio::write(client, asio::buffer(get("/v1/kv/quiet?index=" + std::to_string(core_.store().last_index()) +
                                       "&wait=10m")));
  ASSERT_TRUE(pump_until([&] { return core_.watch_hub().waiter_count() == 1; }));
  client.close();
  EXPECT_TRUE(pump_until([&] { return core_.watch_hub().waiter_count() == 0; }, 1s));
  EXPECT_TRUE(pump_until([&] { return server_->stats().open_connections == 0; }, 1s));
}

// Watching a parked connection for a close must not eat the bytes of a
// request the client pipelined behind it.
TEST_F(ServerLimits, ARequestPipelinedBehindAParkedReadIsServedAfterIt) {
  start(ServerOptions{});
  put_kv("piped", "1");
  const std::string index = std::to_string(core_.store().last_index());
  tcp::socket client(client_io_);
  client.connect(endpoint_);
  asio::write(client, asio::buffer(get("/v1/kv/piped?raw&index=" + index + "&wait=10m")));
  ASSERT_TRUE(pump_until([&] { return core_.watch_hub().waiter_count() == 1; }));
  asio::write(client, asio::buffer(get("/v1/kv/piped?raw")));
  // Let the parked session see the pipelined bytes before the wake-up.
  for (int turn = 0; turn < 10; ++turn) io_.poll();
  put_kv("piped", "2");
  asio::streambuf buffer;
  auto replies = std::async(std::launch::async, [&] {
    std::vector<Reply> got;
    got.push_back(read_reply(client, buffer));
    got.push_back(read_reply(client, buffer));
    return got;
  });
  ASSERT_TRUE(pump_until([&] { return replies.wait_for(0s) == std::future_status::ready; }));
  auto got = replies.get();
  EXPECT_EQ(got[0].body, "2");
  EXPECT_EQ(got[1].body, "2");
  EXPECT_EQ(core_.watch_hub().waiter_count(), 0u);
}

TEST_F(ServerLimits, AClientOverItsConnectionLimitGets429) {
  ServerOptions options;
  options.max_conns_per_client = 3;
  start(options);
  std::vector<tcp::socket> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back(client_io_);
    held.back().connect(endpoint_);
  }
  ASSERT_TRUE(pump_until([&] { return server_->stats().open_connections == 3; }));

  tcp::socket over(client_io_);
  over.connect(endpoint_);
  asio::streambuf buffer;
  auto refused = std::async(std::launch::async, [&] { return read_reply(over, buffer); });
  ASSERT_TRUE(pump_until([&] { return refused.wait_for(0s) == std::future_status::ready; }));
  EXPECT_EQ(refused.get().status, 429);
  EXPECT_EQ(server_->stats().refused_per_client_limit, 1u);

  // Another address is counted on its own.
  tcp::socket other(client_io_);
  other.open(tcp::v4());
  other.bind(tcp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
  other.connect(endpoint_);
  asio::write(other, asio::buffer(get("/v1/status/leader")));
  asio::streambuf other_buffer;
  auto answered = std::async(std::launch::async, [&] { return read_reply(other, other_buffer); });
  ASSERT_TRUE(pump_until([&] { return answered.wait_for(0s) == std::future_status::ready; }));
  EXPECT_EQ(answered.get().status, 200);

  // A slot that is given back can be taken again.
  held.pop_back();
  ASSERT_TRUE(pump_until([&] { return server_->stats().open_connections == 3; }));
  tcp::socket again(client_io_);
  again.connect(endpoint_);
  asio::write(again, asio::buffer(get("/v1/status/leader")));
  asio::streambuf again_buffer;
  auto served = std::async(std::launch::async, [&] { return read_reply(again, again_buffer); });
  ASSERT_TRUE(pump_until([&] { return served.wait_for(0s) == std::future_status::ready; }));
  EXPECT_EQ(served.get().status, 200);
}

// Clients that ask for large answers and never read them: what the agent
// holds for them stays under its limit, and the excess is refused with a 503
// rather than kept.
TEST_F(ServerLimits, ResponsesClientsNeverReadAreBounded) {
  ServerOptions options;
  options.max_unsent_response_bytes = 12 * 1024 * 1024;  // room for one answer
  start(options);
  const std::string value(500 * 1024, 'v');
  for (int i = 0; i < 12; ++i) put_kv("big/" + std::to_string(i), value);  // ~8 MB of base64 JSON per answer
  constexpr int kClients = 3;
  std::vector<tcp::socket> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back(client_io_);
    clients.back().open(tcp::v4());
    clients.back().set_option(asio::socket_base::receive_buffer_size(4096));
    clients.back().connect(endpoint_);
    asio::write(clients.back(), asio::buffer(get("/v1/kv/big?recurse")));
  }
  size_t most_held = 0;
  ASSERT_TRUE(pump_until([&] {
    auto stats = server_->stats();
    most_held = std::max(most_held, stats.unsent_response_bytes);
    return stats.refused_unsent_limit == kClients - 1;
  }, 60s)) << "refused " << server_->stats().refused_unsent_limit << ", holding "
      << server_->stats().unsent_response_bytes;
  EXPECT_LE(most_held, options.max_unsent_response_bytes);
  // The second answer was built and refused; the third, which would be as
  // large, was refused before it was built.
  EXPECT_EQ(server_->stats().shed_before_building, 1u);
  // The refused clients are told why.
  clients.back().set_option(asio::socket_base::receive_buffer_size(1 << 20));
  asio::streambuf buffer;
  auto reply = std::async(std::launch::async, [&] { return read_reply(clients.back(), buffer); });
  ASSERT_TRUE(pump_until([&] { return reply.wait_for(0s) == std::future_status::ready; }));
  EXPECT_EQ(reply.get().status, 503);
  // Closing the stalled connections gives the memory back.
  clients.clear();
  EXPECT_TRUE(pump_until([&] { return server_->stats().unsent_response_bytes == 0; }, 40s));
}

// Once unread answers fill the budget, reads that may be large are refused
// before they are built, so clients that never read cannot keep the agent's
// thread busy building answers only to refuse them; small endpoints still answer.
TEST_F(ServerLimits, AFullBudgetShedsReadsBeforeBuildingThem) {
  const std::string value(500 * 1024, 'v');
  for (int i = 0; i < 12; ++i) put_kv("big/" + std::to_string(i), value);
  put_kv("small", "s");
  // The budget holds one big answer (its body plus headers) but not 16 KiB more.
  HttpRequest probe;
  probe.method = "GET";
  probe.path = "/v1/kv/big";
  probe.query = {{"recurse", ""}};
  probe.headers["host"] = "test";
  BlockingState blocking;
  const size_t body = api_.handle(probe, blocking).response.body.size();
  ServerOptions options;
  options.max_unsent_response_bytes = body + 4096;
  start(options);

  tcp::socket stalled(client_io_);
  stalled.open(tcp::v4());
  stalled.set_option(asio::socket_base::receive_buffer_size(4096));
  stalled.connect(endpoint_);
  asio::write(stalled, asio::buffer(get("/v1/kv/big?recurse")));
  ASSERT_TRUE(pump_until([&] { return server_->stats().unsent_response_bytes > body; }));

  auto ask = [&](const std::string& target) {
    tcp::socket client(client_io_);
    client.connect(endpoint_);
    asio::write(client, asio::buffer(get(target)));
    asio::streambuf buffer;
    auto reply = std::async(std::launch::async, [&] { return read_reply(client, buffer); });
    EXPECT_TRUE(pump_until([&] { return reply.wait_for(0s) == std::future_status::ready; }));
    return reply.get();
  };
  // Its answer would be tiny, but a read of the catalog is not built while the budget is full.
  Reply small = ask("/v1/kv/small?raw");
  EXPECT_EQ(small.status, 503);
  EXPECT_EQ(header(small, "Retry-After"), "1");
  EXPECT_EQ(server_->stats().refused_unsent_limit, 1u);
  EXPECT_EQ(server_->stats().shed_before_building, 1u);
  EXPECT_EQ(ask("/v1/status/leader").status, 200);

  stalled.close();
  ASSERT_TRUE(pump_until([&] { return server_->stats().unsent_response_bytes == 0; }, 40s));
  EXPECT_EQ(ask("/v1/kv/small?raw").body, "s");
}

// Out of descriptors, accept() fails at once every time it is called. The
// server must back off rather than spin, and serve again once descriptors
// are free.
TEST_F(ServerLimits, AcceptBacksOffWhileDescriptorsRunOut) {
  start(ServerOptions{});
  tcp::socket client(client_io_);
  client.connect(endpoint_);  // queued in the listen backlog until the server can accept it
  asio::write(client, asio::buffer(get("/v1/status/leader")));

  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  size_t open = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++open;
  }
  rlimit lowered = saved;
  lowered.rlim_cur = open + 8;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<int> filler;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) filler.push_back(fd);
  ASSERT_EQ(errno, EMFILE);

  io_.run_for(300ms);
  const uint64_t failures = server_->stats().accept_failures;

  for (int fd : filler) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_GE(failures, 1u);
  // 5, 10, 20, 40, 80 and 160 ms of back-off fit in 300 ms; a spinning loop
  // fails hundreds of thousands of times.
  EXPECT_LE(failures, 8u);

  asio::streambuf buffer;
  auto reply = std::async(std::launch::async, [&] { return read_reply(client, buffer); });
  ASSERT_TRUE(pump_until([&] { return reply.wait_for(0s) == std::future_status::ready; }, 5s));
  EXPECT_EQ(reply.get().status, 200);
}

}  // namespace
}  // namespace roster::http
