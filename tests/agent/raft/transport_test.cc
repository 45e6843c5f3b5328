// The Raft transport on real loopback sockets (port 0 everywhere): ordered
// delivery, reconnects, the bounded queue, and what the listener does with
// bad peers. Conditions are polled with a deadline on the io_context;
// nothing sleeps.

#include "agent/raft/transport.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <functional>
#include <sstream>

#include "agent/raft/wire_codec.h"
#include "common/clock.h"

namespace roster::raft {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;

const std::string kCluster = "test-cluster";

struct Node {
  ServerId id = kNoServer;
  std::unique_ptr<Transport> transport;
  std::vector<Message> received;
  std::string address() const { return "127.0.0.1:" + std::to_string(transport->port()); }
};

Message append(ServerId to, Index log_index, std::string data = "x") {
  Message message;
  message.type = MessageType::append_entries;
  message.to = to;
  message.term = 3;
  message.log_index = log_index;
  message.entries.push_back(Entry{3, log_index + 1, EntryType::command, std::move(data)});
  return message;
}

std::vector<Index> log_indexes(const std::vector<Message>& messages) {
  std::vector<Index> indexes;
  for (const Message& message : messages) indexes.push_back(message.log_index);
  return indexes;
}

std::vector<Index> range(Index first, Index count) {
  std::vector<Index> indexes;
  for (Index i = 0; i < count; ++i) indexes.push_back(first + i);
  return indexes;
}

// A port nothing listens on any more: bound once by the OS's choice, then closed.
uint16_t unused_port(boost::asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

class RaftTransportTest : public ::testing::Test {
 protected:
  RaftTransportTest() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    logger_ = std::make_shared<spdlog::logger>("raft-test", sink);
    logger_->set_level(spdlog::level::trace);
  }

  std::unique_ptr<Node> make(ServerId id, uint16_t port = 0) {
    auto node = std::make_unique<Node>();
    node->id = id;
    TransportOptions options;
    options.cluster_id = kCluster;
    options.local_id = id;
    options.bind_ip = "127.0.0.1";
    options.port = port;
    options.reconnect_backoff_first = 20ms;
    options.reconnect_backoff_max = 200ms;
    options.seed = id;
    if (tweak_) tweak_(options);
    Node* raw = node.get();
    node->transport = std::make_unique<Transport>(io_.get_executor(), clock_, logger_, options,
                                                  [raw](Message message) { raw->received.push_back(std::move(message)); });
    EXPECT_TRUE(node->transport->start().is_ok());
    return node;
  }

  static void set_members(Node& node, const std::map<ServerId, std::string>& members) {
    ASSERT_TRUE(node.transport->set_members(members).is_ok());
  }

  // Runs the io_context until `condition` holds or 10 s pass.
  bool run_until(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(10ms);
      io_.restart();
    }
    return true;
  }

  size_t log_lines_with(const std::string& text) const {
    const std::string log = log_.str();
    size_t count = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++count;
    return count;
  }

  // A raw client that sends `bytes` and, unless `keep_open`, closes its end.
  void send_raw(uint16_t port, const std::string& bytes, bool keep_open = false) {
    auto socket = std::make_unique<tcp::socket>(io_);
    socket->connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    boost::asio::write(*socket, boost::asio::buffer(bytes));
    if (keep_open) raw_.push_back(std::move(socket));
  }

  boost::asio::io_context io_{1};
  SystemClock clock_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::function<void(TransportOptions&)> tweak_;  // applied to every make()
  std::vector<std::unique_ptr<tcp::socket>> raw_;
};

TEST_F(RaftTransportTest, TwoTransportsExchangeMessagesInOrder) {
  auto a = make(1);
  auto b = make(2);
  const std::map<ServerId, std::string> members{{1, a->address()}, {2, b->address()}};
  set_members(*a, members);
  set_members(*b, members);
  for (Index i = 0; i < 300; ++i) EXPECT_TRUE(a->transport->send(append(2, i, std::string(i * 10, 'e'))));
  Message response;
  response.type = MessageType::append_entries_response;
  response.to = 1;
  response.term = 3;
  response.success = true;
  response.match_index = 300;
  EXPECT_TRUE(b->transport->send(response));

  ASSERT_TRUE(run_until([&] { return b->received.size() == 300 && a->received.size() == 1; }));
  EXPECT_EQ(log_indexes(b->received), range(0, 300));
  Message expected = append(2, 299, std::string(2990, 'e'));
  expected.from = 1;
  EXPECT_EQ(b->received.back(), expected);
  response.from = 2;
  EXPECT_EQ(a->received.front(), response);

  const TransportStats& stats = a->transport->stats();
  EXPECT_EQ(stats.frames_sent, 300u);
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(b->transport->stats().frames_received, 300u);
  EXPECT_EQ(b->transport->stats().accepted, 1u);  // one connection per peer
  EXPECT_EQ(a->transport->queued_bytes(2), 0u);
  EXPECT_TRUE(a->transport->connected(2));
}

TEST_F(RaftTransportTest, APeerThatIsDownGetsItsMessagesWhenItComesUp) {
  auto a = make(1);
  const uint16_t port_b = unused_port(io_);
  const std::string address_b = "127.0.0.1:" + std::to_string(port_b);
  set_members(*a, {{1, a->address()}, {2, address_b}});
  for (Index i = 0; i < 5; ++i) EXPECT_TRUE(a->transport->send(append(2, i)));
  ASSERT_TRUE(run_until([&] { return a->transport->stats().connect_failures >= 3; }));
  EXPECT_EQ(a->transport->queued_messages(2), 5u);
  EXPECT_FALSE(a->transport->connected(2));

  auto b = make(2, port_b);
  set_members(*b, {{1, a->address()}, {2, address_b}});
  ASSERT_TRUE(run_until([&] { return b->received.size() == 5; }));
  EXPECT_EQ(log_indexes(b->received), range(0, 5));
  EXPECT_EQ(a->transport->stats().reconnects, 1u);
  EXPECT_EQ(log_lines_with("cannot reach server 2"), 1u);  // not once per attempt
  EXPECT_EQ(log_lines_with("reconnected to server 2"), 1u);

  // b restarts: the connection is lost and redialled for the next message.
  b.reset();
  b = make(2, port_b);
  set_members(*b, {{1, a->address()}, {2, address_b}});
  ASSERT_TRUE(run_until([&] {
    a->transport->send(append(2, 100));
    return !b->received.empty();
  }));
  EXPECT_GE(a->transport->stats().connections_lost, 1u);
  EXPECT_EQ(b->received.front().log_index, 100u);
}

TEST_F(RaftTransportTest, AFullQueueDropsAndCounts) {
  tweak_ = [](TransportOptions& options) { options.max_queue_messages = 4; };
  auto a = make(1);
  const uint16_t port_b = unused_port(io_);
  set_members(*a, {{2, "127.0.0.1:" + std::to_string(port_b)}});
  size_t expected_bytes = 0;
  for (Index i = 0; i < 10; ++i) {
    Message message = append(2, i);
    const bool queued = a->transport->send(message);
    EXPECT_EQ(queued, i < 4) << i;
    message.from = 1;
    if (queued) expected_bytes += encode_frame(kCluster, message).size();
  }
  EXPECT_EQ(a->transport->stats().dropped_queue_full, 6u);
  EXPECT_FALSE(a->transport->can_send(2));
  EXPECT_EQ(a->transport->queued_messages(2), 4u);
  EXPECT_EQ(a->transport->queued_bytes(2), expected_bytes);
  EXPECT_EQ(log_lines_with("the queue to server 2"), 1u);  // once, not per drop

  // When the peer comes up, the queue drains and sending resumes.
  auto b = make(2, port_b);
  set_members(*b, {{1, "127.0.0.1:" + std::to_string(a->transport->port())}});
  ASSERT_TRUE(run_until([&] { return b->received.size() == 4; }));
  EXPECT_EQ(log_indexes(b->received), range(0, 4));
  EXPECT_TRUE(a->transport->can_send(2));
  EXPECT_EQ(a->transport->queued_bytes(2), 0u);
  EXPECT_TRUE(a->transport->send(append(2, 50)));
  ASSERT_TRUE(run_until([&] { return b->received.size() == 5; }));
}

TEST_F(RaftTransportTest, TheQueueIsBoundedInBytesToo) {
  tweak_ = [](TransportOptions& options) { options.max_queue_bytes = 3000; };
  auto a = make(1);
  set_members(*a, {{2, "127.0.0.1:" + std::to_string(unused_port(io_))}});
  EXPECT_TRUE(a->transport->send(append(2, 0, std::string(5000, 'b'))));  // an empty queue takes any frame
  EXPECT_FALSE(a->transport->can_send(2));
  EXPECT_FALSE(a->transport->send(append(2, 1)));
  EXPECT_EQ(a->transport->stats().dropped_queue_full, 1u);
}

TEST_F(RaftTransportTest, MessagesToNonMembersAndOversizedMessagesAreDropped) {
  tweak_ = [](TransportOptions& options) { options.max_frame_bytes = 1024; };
  auto a = make(1);
  set_members(*a, {{2, "127.0.0.1:" + std::to_string(unused_port(io_))}});
  EXPECT_FALSE(a->transport->send(append(3, 0)));
  EXPECT_EQ(a->transport->stats().dropped_unknown_peer, 1u);
  EXPECT_FALSE(a->transport->can_send(3));
  EXPECT_FALSE(a->transport->send(append(2, 0, std::string(2000, 'x'))));
  EXPECT_EQ(a->transport->stats().dropped_too_large, 1u);
  EXPECT_EQ(a->transport->queued_messages(2), 0u);
  EXPECT_FALSE(a->transport->set_members({{2, "localhost:8300"}}).is_ok());
  EXPECT_TRUE(a->transport->can_send(2));  // the bad set changed nothing
}

TEST_F(RaftTransportTest, BadFramesAreDroppedCountedAndLoggedOnce) {
  // The raw clients below may all be accepted before any is read from.
  tweak_ = [](TransportOptions& options) { options.max_inbound_connections_per_ip = 32; };
  auto a = make(1);
  auto b = make(2);
  const std::map<ServerId, std::string> members{{1, a->address()}, {2, b->address()}};
  set_members(*a, members);
  set_members(*b, members);
  const uint16_t port = a->transport->port();

  Message from_member = append(1, 0);
  from_member.from = 2;
  Message from_stranger = from_member;
  from_stranger.from = 99;
  const std::string good = encode_frame(kCluster, from_member);
  for (int i = 0; i < 2; ++i) {
    send_raw(port, encode_frame("other-cluster", from_member), /*keep_open=*/true);
    send_raw(port, encode_frame(kCluster, from_stranger), /*keep_open=*/true);
    send_raw(port, std::string("\xff\xff\xff\xff", 4) + "body", /*keep_open=*/true);
    send_raw(port, good.substr(0, good.size() - 3));  // then closes
  }
  const TransportStats& stats = a->transport->stats();
  ASSERT_TRUE(run_until([&] {
    return stats.dropped_foreign_cluster == 2 && stats.dropped_non_member == 2 && stats.dropped_oversized == 2 &&
           stats.dropped_truncated == 2;
  }));
  EXPECT_EQ(log_lines_with("comes from another cluster"), 1u);
  EXPECT_EQ(log_lines_with("claims to come from server 99"), 1u);
  EXPECT_EQ(log_lines_with("over this server's frame limit"), 1u);
  EXPECT_EQ(log_lines_with("closed in the middle of it"), 1u);
  EXPECT_TRUE(a->received.empty());
  EXPECT_EQ(stats.frames_received, 0u);
  // A member's garbage costs only the frame: the next frame on the stream is delivered.
  send_raw(port, std::string("\0\0\0\3\xff\xff\xff", 7) + good, /*keep_open=*/true);
  ASSERT_TRUE(run_until([&] { return a->received.size() == 1; }));
  EXPECT_EQ(stats.dropped_malformed, 1u);

  // The listener is still serving members.
  EXPECT_TRUE(b->transport->send(append(1, 7)));
  ASSERT_TRUE(run_until([&] { return a->received.size() == 2; }));
  EXPECT_EQ(a->received.back().log_index, 7u);
}

TEST_F(RaftTransportTest, AConnectionWithoutAValidFrameIsClosedAtItsDeadline) {
  tweak_ = [](TransportOptions& options) { options.first_frame_timeout = 200ms; };
  auto a = make(1);
  send_raw(a->transport->port(), "", /*keep_open=*/true);
  send_raw(a->transport->port(), std::string("\0\0\1\0\2", 5), /*keep_open=*/true);
  ASSERT_TRUE(run_until([&] { return a->transport->stats().first_frame_timeouts == 2; }));
}

TEST_F(RaftTransportTest, OneAddressCannotTakeEverySlot) {
  tweak_ = [](TransportOptions& options) { options.max_inbound_connections_per_ip = 2; };
  auto a = make(1);
  for (int i = 0; i < 3; ++i) send_raw(a->transport->port(), "", /*keep_open=*/true);
  const TransportStats& stats = a->transport->stats();
  ASSERT_TRUE(run_until([&] { return stats.accepted + stats.refused == 3; }));
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.refused, 1u);
}

TEST_F(RaftTransportTest, RemovingAMemberDropsItsQueueAndRefusesItsFrames) {
  auto a = make(1);
  auto b = make(2);
  const std::map<ServerId, std::string> members{{1, a->address()}, {2, b->address()}};
  set_members(*a, members);
  set_members(*b, members);
  EXPECT_TRUE(a->transport->send(append(2, 0)));
  ASSERT_TRUE(run_until([&] { return b->received.size() == 1; }));

  // b no longer counts a as a member: it closes a's connection, and a's
  // next connection is refused at its first frame.
  set_members(*b, {{2, b->address()}});
  EXPECT_FALSE(b->transport->send(append(1, 0)));
  ASSERT_TRUE(run_until([&] { return a->transport->stats().connections_lost == 1; }));
  ASSERT_TRUE(run_until([&] {
    a->transport->send(append(2, 1));
    return b->transport->stats().dropped_non_member >= 1;
  }));
  EXPECT_EQ(b->received.size(), 1u);
  EXPECT_EQ(log_lines_with("claims to come from server 1"), 1u);
}

TEST_F(RaftTransportTest, AcceptBacksOffWhenOutOfDescriptors) {
  auto a = make(1);
  tcp::socket client(io_);
  client.open(tcp::v4());
  // Use up this process's descriptors, then leave a connection in the backlog.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<int> filler;
  for (int fd = ::dup(client.native_handle()); fd >= 0; fd = ::dup(client.native_handle())) filler.push_back(fd);
  client.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), a->transport->port()));
  // Without backoff, the accept loop fails thousands of times in this window.
  const uint64_t before = a->transport->stats().accept_errors;
  io_.run_for(500ms);
  io_.restart();
  const uint64_t errors = a->transport->stats().accept_errors - before;
  for (int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 6u);  // 50, 100, 200 ms... apart
  EXPECT_EQ(log_lines_with("cannot accept connections"), 1u);
  // With descriptors back, the waiting connection is served.
  EXPECT_TRUE(run_until([&] { return a->transport->stats().accepted >= 1; }));
}

TEST_F(RaftTransportTest, StartRefusesBadOptions) {
  TransportOptions options;
  options.local_id = 1;
  options.port = 0;
  Transport no_cluster(io_.get_executor(), clock_, logger_, options, [](Message) {});
  EXPECT_EQ(no_cluster.start().code(), StatusCode::invalid_argument);
  options.cluster_id = kCluster;
  options.max_frame_bytes = kMaxFrameBytes + 1;
  Transport too_big(io_.get_executor(), clock_, logger_, options, [](Message) {});
  EXPECT_EQ(too_big.start().code(), StatusCode::invalid_argument);
  auto a = make(1);
  options.max_frame_bytes = kDefaultMaxFrameBytes;
  options.bind_ip = "127.0.0.1";
  options.port = a->transport->port();
  Transport taken(io_.get_executor(), clock_, logger_, options, [](Message) {});
  EXPECT_EQ(taken.start().code(), StatusCode::unavailable);
}

}  // namespace
}  // namespace roster::raft
