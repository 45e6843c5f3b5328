// The Beast adapter over real loopback sockets: parsing limits, keep-alive,
// and blocking queries parked on the watch hub.

#include "agent/http/server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <vector>
#include <thread>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "tests/agent/http/raw_response.h"
#include "common/clock.h"

namespace roster::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

using testing::RawResponse;

// A minimal blocking HTTP/1.1 client, so the test checks bytes on the wire.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  RawResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                      bool close = false) {
    std::string message = method + " " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n" + body;
    asio::write(socket_, asio::buffer(message));
    return read_response();
  }

  RawResponse read_response() { return testing::read_response(socket_, buffer_); }

  std::string header(const RawResponse& response, const std::string& name) {
    return testing::header_value(response, name);
  }


 private:
  asio::io_context io_;
  tcp::socket socket_;
  asio::streambuf buffer_;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : core_(io_, clock_, options()), api_(core_), server_(io_, api_, core_.watch_hub(), server_options()) {}

  static agent::CoreOptions options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:0", true};
    return options;
  }
  static ServerOptions server_options() {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core_.start().is_ok());
    ASSERT_TRUE(server_.start().is_ok());
    port_ = server_.port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    asio::post(io_, [this] {
      server_.stop();
      core_.stop();
      io_.stop();
    });
    thread_.join();
  }

  asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  Api api_;
  HttpServer server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequests) {
  RawClient client(port_);
  EXPECT_EQ(client.request("PUT", "/v1/kv/greeting", "hello").body, "true");
  RawResponse got = client.request("GET", "/v1/kv/greeting?raw");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hello");
  EXPECT_NE(client.header(got, "X-Consul-Index"), "");
}

TEST_F(ServerTest, OversizedBodyIsRefused) {
  RawClient client(port_);
  RawResponse response = client.request("PUT", "/v1/kv/huge", std::string(700 * 1024, 'x'));
  EXPECT_EQ(response.status, 413);
  RawClient other(port_);
  EXPECT_EQ(other.request("GET", "/v1/kv/huge").status, 404);
}

// Go's net/http (and so Consul) refuses an HTTP/1.1 request without Host;
// HTTP/1.0 did not have the header.
TEST_F(ServerTest, Http11WithoutHostIsABadRequest) {
  auto status_of = [&](const std::string& request) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    asio::write(socket, asio::buffer(request));
    asio::streambuf buffer;
    return testing::read_response(socket, buffer).status;
  };
  EXPECT_EQ(status_of("GET /v1/status/leader HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /v1/status/leader HTTP/1.0\r\n\r\n"), 200);
}

TEST_F(ServerTest, MalformedEscapeIsABadRequest) {
  RawClient client(port_);
  EXPECT_EQ(client.request("GET", "/v1/kv/a%zz").status, 400);
}

TEST_F(ServerTest, BlockingQueryReturnsWhenItsKeyChanges) {
  RawClient writer(port_);
  ASSERT_EQ(writer.request("PUT", "/v1/kv/watched", "1").body, "true");
  RawClient reader(port_);
  std::string index = reader.header(reader.request("GET", "/v1/kv/watched"), "X-Consul-Index");
  auto blocked = std::async(std::launch::async, [&] {
    return reader.request("GET", "/v1/kv/watched?raw&index=" + index + "&wait=30s");
  });
  // The waiter is parked once the hub holds it; wait for that, not a fixed time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::promise<size_t> count;
    asio::post(io_, [&] { count.set_value(core_.watch_hub().waiter_count()); });
    if (count.get_future().get() > 0) break;
    std::this_thread::yield();
  }
  ASSERT_EQ(writer.request("PUT", "/v1/kv/unrelated", "x").body, "true");
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  ASSERT_EQ(writer.request("PUT", "/v1/kv/watched", "2").body, "true");
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  RawResponse response = blocked.get();
  EXPECT_EQ(response.body, "2");
}

TEST_F(ServerTest, BlockingQueryTimesOutWithTheSameIndex) {
  RawClient client(port_);
  ASSERT_EQ(client.request("PUT", "/v1/kv/quiet", "1").body, "true");
  std::string index = client.header(client.request("GET", "/v1/kv/quiet"), "X-Consul-Index");
  auto started = std::chrono::steady_clock::now();
  RawResponse response = client.request("GET", "/v1/kv/quiet?index=" + index + "&wait=300ms");
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(client.header(response, "X-Consul-Index"), index);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(ServerTest, BlockingReadersOfOneKeyAllGetTheNewValue) {
  RawClient writer(port_);
  ASSERT_EQ(writer.request("PUT", "/v1/kv/shared", "1").body, "true");
  std::string index = writer.header(writer.request("GET", "/v1/kv/shared"), "X-Consul-Index");
  std::vector<std::unique_ptr<RawClient>> readers;
  std::vector<std::future<RawResponse>> answers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(std::make_unique<RawClient>(port_));
    RawClient* reader = readers.back().get();
    answers.push_back(std::async(std::launch::async, [reader, index] {
      return reader->request("GET", "/v1/kv/shared?raw&index=" + index + "&wait=30s");
    }));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::promise<size_t> count;
    asio::post(io_, [&] { count.set_value(core_.watch_hub().waiter_count()); });
    if (count.get_future().get() >= 3) break;
    std::this_thread::yield();
  }
  ASSERT_EQ(writer.request("PUT", "/v1/kv/shared", "2").body, "true");
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    RawResponse response = answer.get();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "2");
  }
}

// An answer given because the wait ran out must not be handed to the next
// identical request, which has to wait for itself.
TEST_F(ServerTest, ExpiredAnswerIsNotReused) {
  RawClient client(port_);
  ASSERT_EQ(client.request("PUT", "/v1/kv/still", "1").body, "true");
  std::string index = client.header(client.request("GET", "/v1/kv/still"), "X-Consul-Index");
  std::string target = "/v1/kv/still?index=" + index + "&wait=200ms";
  for (int round = 0; round < 2; ++round) {
    auto started = std::chrono::steady_clock::now();
    RawResponse response = client.request("GET", target);
    EXPECT_EQ(response.status, 200);
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200)) << "round " << round;
  }
}

}  // namespace
}  // namespace roster::http
