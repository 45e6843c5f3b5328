// RpcClient against a real Raft transport serving RPC on loopback (port 0
// everywhere): round trips, many calls on one connection answered out of
// order, errors passed through, every way a call ends unavailable, and what
// the server does with bad RPC frames. Conditions are polled with a deadline
// on the io_context; nothing sleeps.

#include "agent/rpc/rpc_client.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "agent/raft/transport.h"
#include "agent/raft/wire_codec.h"
#include "agent/rpc/rpc_codec.h"
#include "common/clock.h"
#include "raft.pb.h"

namespace roster::rpc {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;

const std::string kCluster = "dc1";

// One call's outcome, and how many times done ran.
struct Outcome {
  std::optional<Result<std::string>> result;
  int calls = 0;
};

// A call the test handler holds, to answer when the test says.
struct HeldCall {
  CallInfo caller;
  std::string method;
  std::string payload;
  Reply reply;
};

uint16_t unused_port(boost::asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

class RpcClientTest : public ::testing::Test {
 protected:
  RpcClientTest() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    logger_ = std::make_shared<spdlog::logger>("rpc-test", sink);
    logger_->set_level(spdlog::level::trace);
  }

  // A server whose handler answers "Echo" at once, fails "Fail" with
  // not_leader, and holds everything else in held_.
  std::unique_ptr<raft::Transport> make_server(raft::ServerId id = 1, uint16_t port = 0) {
    raft::TransportOptions options;
    options.cluster_id = kCluster;
    options.local_id = id;
    options.bind_ip = "127.0.0.1";
    options.port = port;
    options.max_inbound_connections_per_ip = 32;
    options.rpc_handler = [this](const CallInfo& caller, const std::string& method, std::string payload,
                                 Reply reply) {
      if (method == "Echo") return reply(caller.from_node + "|" + payload);
      if (method == "Fail") return reply(Status::not_leader("leader is 127.0.0.1:" + payload));
      if (method == "Big") return reply(std::string(2u << 20, 'b'));
      held_.push_back(HeldCall{caller, method, std::move(payload), std::move(reply)});
    };
    if (tweak_server_) tweak_server_(options);
    auto server = std::make_unique<raft::Transport>(
        io_.get_executor(), clock_, logger_, options,
        [this](raft::Message message) { raft_received_.push_back(std::move(message)); });
    EXPECT_TRUE(server->start().is_ok());
    return server;
  }

  std::unique_ptr<RpcClient> make_client(std::string cluster = kCluster) {
    RpcClientOptions options;
    options.cluster_id = std::move(cluster);
    options.node_name = "agent-1";
    options.connect_timeout = 2000ms;
    if (tweak_client_) tweak_client_(options);
    return std::make_unique<RpcClient>(io_.get_executor(), clock_, logger_, options);
  }

  static std::string address(const raft::Transport& server) {
    return "127.0.0.1:" + std::to_string(server.port());
  }

  // Calls and records the outcome in outcomes_[key].
  void call(RpcClient& client, const std::string& to, const std::string& key, const std::string& method,
            std::string payload = "", std::chrono::milliseconds timeout = 10s) {
    outcomes_[key];
    client.call(to, method, std::move(payload), timeout, [this, key](Result<std::string> result) {
      Outcome& outcome = outcomes_[key];
      ++outcome.calls;
      ++completed_;
      outcome.result = std::move(result);
    });
  }

  bool done(const std::string& key) { return outcomes_[key].result.has_value(); }
  const Result<std::string>& result(const std::string& key) { return *outcomes_[key].result; }

  bool run_until(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(10ms);
      io_.restart();
    }
    return true;
  }

  // Runs what is ready now, so that "nothing more happened" can be checked.
  void settle() {
    for (int i = 0; i < 20; ++i) {
      io_.poll();
      io_.restart();
    }
  }

  boost::asio::io_context io_{1};
  SystemClock clock_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::function<void(raft::TransportOptions&)> tweak_server_;
  std::function<void(RpcClientOptions&)> tweak_client_;
  std::vector<HeldCall> held_;
  std::vector<raft::Message> raft_received_;
  std::map<std::string, Outcome> outcomes_;
  size_t completed_ = 0;  // done()s run; the client's stats count a call before its done runs
};

// A raw connection that writes what the test gives it and collects the frames
// the server sends back.
class RawPeer {
 public:
  RawPeer(boost::asio::io_context& io, uint16_t port)
      : socket_(io), reader_(kCluster, raft::kDefaultMaxFrameBytes, /*serve_rpc=*/true) {
    socket_.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    read();
  }
  void send(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }
  std::vector<Response> responses;
  bool closed = false;

 private:
  void read() {
    socket_.async_read_some(boost::asio::buffer(buffer_), [this](const boost::system::error_code& error, size_t n) {
      if (error) {
        closed = true;
        return;
      }
      reader_.feed(std::string_view(buffer_.data(), n));
      while (auto frame = reader_.next()) {
        ASSERT_EQ(frame->error, raft::FrameError::none);
        ASSERT_EQ(frame->kind, raft::FrameKind::rpc_response);
        auto response = decode_response(frame->rpc_payload);
        ASSERT_TRUE(response.is_ok());
        responses.push_back(std::move(*response));
      }
      read();
    });
  }
  tcp::socket socket_;
  raft::FrameReader reader_;
  std::array<char, 4096> buffer_{};
};

std::string request_frame(uint64_t call_id, const std::string& method, const std::string& payload = "") {
  return encode_request_frame(kCluster, Request{call_id, method, "raw", payload});
}

std::string prefixed(const std::string& body) {
  const auto length = static_cast<uint32_t>(body.size());
  return std::string{static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                     static_cast<char>(length)} +
         body;
}

raft::Message heartbeat(raft::ServerId from, raft::ServerId to, raft::Index log_index) {
  raft::Message message;
  message.type = raft::MessageType::append_entries;
  message.from = from;
  message.to = to;
  message.term = 2;
  message.log_index = log_index;
  return message;
}

TEST_F(RpcClientTest, ACallRoundTrips) {
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "a", "Echo", "hello");
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  ASSERT_TRUE(result("a").is_ok()) << result("a").status().to_string();
  EXPECT_EQ(result("a").value(), "agent-1|hello");
  EXPECT_EQ(server->stats().rpc_requests, 1u);
  ASSERT_TRUE(run_until([&] { return server->stats().rpc_replies == 1; }));
  EXPECT_EQ(client->stats().succeeded, 1u);
  // The connection is kept and reused.
  call(*client, address(*server), "b", "Echo", "again");
  ASSERT_TRUE(run_until([&] { return done("b"); }));
  EXPECT_EQ(result("b").value(), "agent-1|again");
  EXPECT_EQ(client->stats().connects, 1u);
  EXPECT_EQ(server->stats().accepted, 1u);
  EXPECT_EQ(client->connections(), 1u);
}

TEST_F(RpcClientTest, TwoHundredCallsOnOneConnectionAreAnsweredOutOfOrder) {
  auto server = make_server();
  auto client = make_client();
  for (int i = 0; i < 200; ++i) call(*client, address(*server), std::to_string(i), "Hold", std::to_string(i));
  ASSERT_TRUE(run_until([&] { return held_.size() == 200; }));
  std::mt19937 random(7);
  std::shuffle(held_.begin(), held_.end(), random);
  for (HeldCall& held : held_) held.reply("answer-" + held.payload);
  ASSERT_TRUE(run_until([&] { return completed_ == 200; }));
  for (int i = 0; i < 200; ++i) {
    const std::string key = std::to_string(i);
    ASSERT_TRUE(result(key).is_ok());
    EXPECT_EQ(result(key).value(), "answer-" + key);
    EXPECT_EQ(outcomes_[key].calls, 1);
  }
  EXPECT_EQ(server->stats().accepted, 1u);
  EXPECT_EQ(client->stats().connects, 1u);
}

TEST_F(RpcClientTest, ALateReplyDoesNotHoldUpTheCallsAfterIt) {
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "slow", "Hold", "s");
  ASSERT_TRUE(run_until([&] { return held_.size() == 1; }));
  call(*client, address(*server), "fast", "Echo", "f");
  ASSERT_TRUE(run_until([&] { return done("fast"); }));
  EXPECT_FALSE(done("slow"));
  held_[0].reply(std::string("late"));
  ASSERT_TRUE(run_until([&] { return done("slow"); }));
  EXPECT_EQ(result("slow").value(), "late");
}

TEST_F(RpcClientTest, TheServersErrorPassesThroughUnchanged) {
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "a", "Fail", "8300");
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status(), Status::not_leader("leader is 127.0.0.1:8300"));
  EXPECT_EQ(client->stats().failed_by_server, 1u);
}

TEST_F(RpcClientTest, AnUnreachableServerIsUnavailableAndIsRedialledOnTheNextCall) {
  const uint16_t port = unused_port(io_);
  auto client = make_client();
  const std::string to = "127.0.0.1:" + std::to_string(port);
  call(*client, to, "a", "Echo");
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  EXPECT_NE(result("a").status().message().find("cannot reach " + to), std::string::npos);
  EXPECT_EQ(client->stats().connect_failures, 1u);
  EXPECT_EQ(client->connections(), 0u);

  auto server = make_server(1, port);
  call(*client, to, "b", "Echo", "up");
  ASSERT_TRUE(run_until([&] { return done("b"); }));
  EXPECT_EQ(result("b").value(), "agent-1|up");
}

TEST_F(RpcClientTest, ATimedOutCallIsUnavailableAndItsLateReplyIgnored) {
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "a", "Hold", "", 100ms);
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  EXPECT_EQ(client->stats().timeouts, 1u);
  ASSERT_TRUE(run_until([&] { return held_.size() == 1; }));
  held_[0].reply(std::string("too late"));
  ASSERT_TRUE(run_until([&] { return client->stats().late_replies == 1; }));
  settle();
  EXPECT_EQ(outcomes_["a"].calls, 1);
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  // The connection is still good.
  call(*client, address(*server), "b", "Echo");
  ASSERT_TRUE(run_until([&] { return done("b"); }));
  EXPECT_TRUE(result("b").is_ok());
  EXPECT_EQ(client->stats().connects, 1u);
}

TEST_F(RpcClientTest, AServerThatStopsMidCallFailsItUnavailable) {
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "a", "Hold");
  ASSERT_TRUE(run_until([&] { return held_.size() == 1; }));
  server->stop();
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  EXPECT_EQ(client->stats().connections_lost, 1u);
  // The handler's reply after the stop is dropped and counted.
  held_[0].reply(std::string("nobody listens"));
  EXPECT_EQ(server->stats().rpc_replies_dropped, 1u);
  settle();
  EXPECT_EQ(outcomes_["a"].calls, 1);
}

TEST_F(RpcClientTest, StoppingTheClientFailsItsPendingCalls) {
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "a", "Hold");
  call(*client, address(*server), "b", "Hold");
  ASSERT_TRUE(run_until([&] { return held_.size() == 2; }));
  client->stop();
  ASSERT_TRUE(run_until([&] { return done("a") && done("b"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  EXPECT_EQ(result("b").status().code(), StatusCode::unavailable);
  call(*client, address(*server), "c", "Echo");
  ASSERT_TRUE(run_until([&] { return done("c"); }));
  EXPECT_EQ(result("c").status().code(), StatusCode::unavailable);
}

TEST_F(RpcClientTest, DoneIsPostedNeverCalledFromInsideCall) {
  auto client = make_client();
  call(*client, "not an address", "a", "Echo");
  EXPECT_FALSE(done("a"));
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::invalid_argument);
}

TEST_F(RpcClientTest, OversizedRequestsAndRepliesBecomeTooLarge) {
  tweak_server_ = [](raft::TransportOptions& options) { options.max_frame_bytes = 1u << 20; };
  tweak_client_ = [](RpcClientOptions& options) { options.max_frame_bytes = 1u << 20; };
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "request", "Echo", std::string(2u << 20, 'r'));
  call(*client, address(*server), "reply", "Big");
  ASSERT_TRUE(run_until([&] { return done("request") && done("reply"); }));
  EXPECT_EQ(result("request").status().code(), StatusCode::too_large);
  EXPECT_EQ(result("reply").status().code(), StatusCode::too_large);
  EXPECT_EQ(server->stats().rpc_replies_too_large, 1u);
}

TEST_F(RpcClientTest, BadRpcFramesAreCountedAndTheServerKeepsServing) {
  auto server = make_server();
  const uint16_t port = server->port();
  const raft::TransportStats& stats = server->stats();

  // A request that does not decode costs only its frame.
  RawPeer garbled(io_, port);
  proto::ServerFrame bad_body;
  bad_body.set_cluster_id(kCluster);
  bad_body.set_kind(proto::SERVER_FRAME_KIND_RPC_REQUEST);
  bad_body.set_payload(std::string("\xff\xff\xff", 3));
  garbled.send(prefixed(bad_body.SerializeAsString()) + request_frame(0, "Echo") + request_frame(5, "Echo", "ok"));
  ASSERT_TRUE(run_until([&] { return garbled.responses.size() == 1; }));
  EXPECT_EQ(stats.rpc_malformed, 2u);
  EXPECT_EQ(garbled.responses[0].call_id, 5u);
  EXPECT_EQ(garbled.responses[0].payload, "raw|ok");
  EXPECT_FALSE(garbled.closed);

  // An oversized frame closes its connection.
  RawPeer oversized(io_, port);
  oversized.send(std::string("\x7f\xff\xff\xff", 4) + "body");
  ASSERT_TRUE(run_until([&] { return oversized.closed; }));
  EXPECT_EQ(stats.dropped_oversized, 1u);

  // A response sent to a server is dropped.
  RawPeer backwards(io_, port);
  backwards.send(encode_response_frame(kCluster, Response{1, Status::ok(), "x"}) + request_frame(2, "Echo"));
  ASSERT_TRUE(run_until([&] { return backwards.responses.size() == 1; }));
  EXPECT_EQ(stats.rpc_malformed, 3u);

  // A Raft frame on an RPC connection closes it, and the other way round.
  RawPeer rpc_then_raft(io_, port);
  rpc_then_raft.send(request_frame(1, "Echo") + raft::encode_frame(kCluster, heartbeat(2, 1, 0)));
  ASSERT_TRUE(run_until([&] { return rpc_then_raft.closed; }));
  RawPeer raft_then_rpc(io_, port);
  raft_then_rpc.send(raft::encode_frame(kCluster, heartbeat(2, 1, 0)) + request_frame(1, "Echo"));
  ASSERT_TRUE(run_until([&] { return raft_then_rpc.closed; }));
  // The first closed as a family mix; the second as a non-member's Raft frame
  // (server 2 is not a member here), before its RPC frame is looked at.
  EXPECT_EQ(stats.closed_wrong_family, 1u);
  EXPECT_EQ(stats.dropped_non_member, 1u);

  // Through all that, a client is served.
  auto client = make_client();
  call(*client, address(*server), "a", "Echo", "still here");
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").value(), "agent-1|still here");
}

TEST_F(RpcClientTest, AClientOfAnotherClusterIsRefused) {
  auto server = make_server();
  auto client = make_client("dc2");
  call(*client, address(*server), "a", "Echo");
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  EXPECT_EQ(server->stats().dropped_foreign_cluster, 1u);
  EXPECT_EQ(server->stats().rpc_requests, 0u);
  EXPECT_TRUE(held_.empty());
}

TEST_F(RpcClientTest, WithoutAnRpcHandlerRpcFramesAreOfAnUnknownKind) {
  tweak_server_ = [](raft::TransportOptions& options) { options.rpc_handler = nullptr; };
  auto server = make_server();
  auto client = make_client();
  call(*client, address(*server), "a", "Echo", "", 300ms);
  ASSERT_TRUE(run_until([&] { return done("a"); }));
  EXPECT_EQ(result("a").status().code(), StatusCode::unavailable);
  EXPECT_EQ(server->stats().dropped_unknown_kind, 1u);
}

TEST_F(RpcClientTest, RaftAndRpcShareThePort) {
  auto server = make_server(1);
  auto peer = make_server(2);
  const std::map<raft::ServerId, std::string> members{{1, address(*server)}, {2, address(*peer)}};
  ASSERT_TRUE(server->set_members(members).is_ok());
  ASSERT_TRUE(peer->set_members(members).is_ok());
  auto client = make_client();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(peer->send(heartbeat(2, 1, static_cast<raft::Index>(i))));
    call(*client, address(*server), std::to_string(i), "Echo", std::to_string(i));
  }
  ASSERT_TRUE(run_until([&] { return raft_received_.size() == 50 && completed_ == 50; }));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(raft_received_[static_cast<size_t>(i)].log_index, static_cast<raft::Index>(i));
    ASSERT_TRUE(result(std::to_string(i)).is_ok()) << result(std::to_string(i)).status().to_string();
    EXPECT_EQ(result(std::to_string(i)).value(), "agent-1|" + std::to_string(i));
  }
  EXPECT_EQ(server->stats().frames_received, 50u);
  EXPECT_EQ(server->stats().rpc_requests, 50u);
  EXPECT_EQ(server->stats().closed_wrong_family, 0u);
}

TEST_F(RpcClientTest, ACallerThatDoesNotReadItsRepliesLosesItsConnection) {
  tweak_server_ = [](raft::TransportOptions& options) { options.max_reply_queue_bytes = 64u << 10; };
  auto server = make_server();
  // Nothing reads this socket: replies pile up in the kernel's buffers, then
  // in the server's queue, until it is over its bound.
  tcp::socket silent(io_);
  silent.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), server->port()));
  std::string requests;
  for (uint64_t id = 1; id <= 400; ++id) requests += request_frame(id, "Echo", std::string(32u << 10, 'p'));
  boost::asio::async_write(silent, boost::asio::buffer(requests), [](const boost::system::error_code&, size_t) {});
  ASSERT_TRUE(run_until([&] { return server->stats().rpc_reply_queue_full == 1; }));
}

TEST_F(RpcClientTest, CallsSpreadOverConnectionsPerServerAndCloseIdleClosesThem) {
  tweak_client_ = [](RpcClientOptions& options) { options.connections_per_server = 2; };
  auto server = make_server();
  auto client = make_client();
  for (int i = 0; i < 4; ++i) call(*client, address(*server), std::to_string(i), "Hold");
  ASSERT_TRUE(run_until([&] { return held_.size() == 4; }));
  EXPECT_EQ(client->connections(), 2u);
  EXPECT_EQ(server->stats().accepted, 2u);
  client->close_idle();  // every connection has calls in flight
  EXPECT_EQ(client->connections(), 2u);
  for (HeldCall& held : held_) held.reply(std::string("done"));
  ASSERT_TRUE(run_until([&] { return completed_ == 4; }));
  client->close_idle();
  EXPECT_EQ(client->connections(), 0u);
  call(*client, address(*server), "again", "Echo");
  ASSERT_TRUE(run_until([&] { return done("again"); }));
  EXPECT_TRUE(result("again").is_ok());
}

TEST_F(RpcClientTest, CallsOverTheInFlightBoundsAreRefusedUnavailable) {
  tweak_server_ = [](raft::TransportOptions& options) { options.max_rpc_calls_in_flight = 2; };
  tweak_client_ = [](RpcClientOptions& options) { options.max_in_flight_per_server = 3; };
  auto server = make_server();
  auto client = make_client();
  for (int i = 0; i < 4; ++i) call(*client, address(*server), std::to_string(i), "Hold");
  // The client refuses the fourth; the server answers the third at once.
  ASSERT_TRUE(run_until([&] { return done("2") && done("3"); }));
  EXPECT_EQ(result("2").status(), Status::unavailable("too many calls in flight on this connection"));
  EXPECT_EQ(result("3").status().code(), StatusCode::unavailable);
  EXPECT_EQ(server->stats().rpc_busy, 1u);
  EXPECT_EQ(held_.size(), 2u);
  // Answering frees room on both sides.
  held_[0].reply(std::string("0"));
  ASSERT_TRUE(run_until([&] { return done("0"); }));
  call(*client, address(*server), "4", "Echo");
  ASSERT_TRUE(run_until([&] { return done("4"); }));
  EXPECT_TRUE(result("4").is_ok());
}

}  // namespace
}  // namespace roster::rpc
