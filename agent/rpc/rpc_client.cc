#include "agent/rpc/rpc_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/logger.h>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

#include "agent/raft/wire_codec.h"
#include "agent/rpc/rpc_codec.h"
#include "common/host_port.h"

namespace roster::rpc {

namespace {
// The start of every failure of a call whose connection was never made.
constexpr const char* kCannotReach = "cannot reach ";
}  // namespace

bool never_sent(const Status& status) {
  return status.code() == StatusCode::unavailable &&
         status.message().starts_with(std::string("rpc client: ") + kCannotReach);
}


namespace asio = boost::asio;
using asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr size_t kReadBytes = 64 * 1024;
// One gathered write takes at most this many frames (or bytes, but always at
// least one frame), as in the Raft transport.
constexpr size_t kWriteBatchFrames = 64;
constexpr size_t kWriteBatchBytes = 1u << 20;

}  // namespace

struct RpcClient::Impl : std::enable_shared_from_this<Impl> {
  struct Connection;

  struct Call {
    Call(const asio::any_io_executor& executor, uint64_t call_id, std::string server_address, Done done_in)
        : id(call_id), server(std::move(server_address)), done(std::move(done_in)), timer(executor) {}
    uint64_t id;
    std::string server;
    Done done;
    asio::steady_timer timer;
    std::weak_ptr<Connection> connection;
    bool ended = false;
  };

  // Completion handlers hold their connection, so its socket and the frames
  // being written outlive them; a handler acts only while it is not closed.
  struct Connection {
    Connection(const asio::any_io_executor& executor, std::string server_address, const std::string& cluster_id,
               size_t max_frame_bytes)
        : address(std::move(server_address)),
          socket(executor),
          connect_timer(executor),
          reader(cluster_id, max_frame_bytes, /*serve_rpc=*/true),
          buffer(kReadBytes) {}
    std::string address;
    tcp::socket socket;
    asio::steady_timer connect_timer;
    raft::FrameReader reader;
    std::vector<char> buffer;
    std::deque<std::string> queue;  // not yet being written
    std::vector<std::string> writing;
    std::map<uint64_t, std::shared_ptr<Call>> calls;  // sent or queued, not yet ended
    bool connected = false;
    bool closed = false;
  };

  struct Server {
    std::vector<std::shared_ptr<Connection>> connections;
    size_t in_flight = 0;
  };

  Impl(asio::any_io_executor executor_in, const Clock& clock_in, std::shared_ptr<spdlog::logger> logger_in,
       RpcClientOptions options_in)
      : executor(std::move(executor_in)), clock(clock_in), logger(std::move(logger_in)), options(std::move(options_in)) {
    options.max_frame_bytes = std::min(options.max_frame_bytes, raft::kMaxFrameBytes);
    options.connections_per_server = std::max<size_t>(options.connections_per_server, 1);
  }

  void post_done(Done done, Result<std::string> result) {
    asio::post(executor, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  }

  // Fails a call that never got a Call of its own.
  void refuse(Done done, Status status) {
    if (status.code() == StatusCode::unavailable) ++stats.failed_unavailable;
    post_done(std::move(done), std::move(status));
  }

  void call(const std::string& address, std::string method, std::string payload, std::chrono::milliseconds timeout,
            Done done) {
    ++stats.calls;
    if (stopped) return refuse(std::move(done), Status::unavailable("rpc client: stopped"));
    auto endpoint = split_host_port(address);
    if (!endpoint) {
      return refuse(std::move(done), Status::invalid_argument("rpc client: server address \"" + address +
                                                              "\" is not ip:port"));
    }
    if (method.empty()) return refuse(std::move(done), Status::invalid_argument("rpc client: no method"));
    Server& server = servers[address];
    if (server.in_flight >= options.max_in_flight_per_server) {
      return refuse(std::move(done), Status::unavailable("rpc client: " + std::to_string(server.in_flight) +
                                                         " calls already in flight to " + address));
    }
    const uint64_t id = next_call_id++;
    Request request{id, std::move(method), options.node_name, std::move(payload)};
    std::string frame = encode_request_frame(options.cluster_id, request);
    if (frame_body_bytes(frame) > options.max_frame_bytes) {
      return refuse(std::move(done), Status::too_large("rpc client: a " + request.method + " request of " +
                                                       std::to_string(frame_body_bytes(frame)) +
                                                       " bytes is over the frame limit of " +
                                                       std::to_string(options.max_frame_bytes)));
    }
    auto connection = pick(server, address, tcp::endpoint(endpoint->first, endpoint->second));
    auto pending = std::make_shared<Call>(executor, id, address, std::move(done));
    pending->connection = connection;
    connection->calls.emplace(id, pending);
    ++server.in_flight;
    pending->timer.expires_after(timeout);
    pending->timer.async_wait([weak = weak_from_this(), weak_call = std::weak_ptr<Call>(pending),
                               timeout](const error_code& error) {
      auto self = weak.lock();
      auto timed_out = weak_call.lock();
      if (error || !self || !timed_out || timed_out->ended) return;
      ++self->stats.timeouts;
      self->end(*timed_out, Status::unavailable("rpc client: no answer from " + timed_out->server + " within " +
                                                std::to_string(timeout.count()) + " ms"));
    });
    connection->queue.push_back(std::move(frame));
    if (connection->connected && connection->writing.empty()) write(connection);
  }

  // The least busy connection, or a new one while there are fewer than
  // connections_per_server.
  std::shared_ptr<Connection> pick(Server& server, const std::string& address, const tcp::endpoint& endpoint) {
    if (server.connections.size() < options.connections_per_server) {
      auto connection = std::make_shared<Connection>(executor, address, options.cluster_id, options.max_frame_bytes);
      server.connections.push_back(connection);
      dial(connection, endpoint);
      return connection;
    }
    return *std::min_element(server.connections.begin(), server.connections.end(),
                             [](const auto& a, const auto& b) { return a->calls.size() < b->calls.size(); });
  }

  void dial(const std::shared_ptr<Connection>& connection, const tcp::endpoint& endpoint) {
    connection->connect_timer.expires_after(options.connect_timeout);
    connection->connect_timer.async_wait([connection](const error_code& error) {
      if (error || connection->connected || connection->closed) return;
      error_code ignored;
      connection->socket.close(ignored);  // the connect completes with operation_aborted
    });
    connection->socket.async_connect(endpoint, [weak = weak_from_this(), connection](const error_code& error) {
      auto self = weak.lock();
      if (!self || connection->closed) return;
      connection->connect_timer.cancel();
      if (error) {
        ++self->stats.connect_failures;
        return self->fail(connection, std::string(kCannotReach) + connection->address + ": " +
                                          (error == asio::error::operation_aborted ? "timed out" : error.message()));
      }
      connection->connected = true;
      ++self->stats.connects;
      error_code ignored;
      connection->socket.set_option(tcp::no_delay(true), ignored);
      self->read(connection);
      if (!connection->queue.empty()) self->write(connection);
    });
  }

  void write(const std::shared_ptr<Connection>& connection) {
    std::vector<asio::const_buffer> buffers;
    size_t bytes = 0;
    while (!connection->queue.empty() && connection->writing.size() < kWriteBatchFrames &&
           (connection->writing.empty() || bytes + connection->queue.front().size() <= kWriteBatchBytes)) {
      bytes += connection->queue.front().size();
      connection->writing.push_back(std::move(connection->queue.front()));
      connection->queue.pop_front();
    }
    buffers.reserve(connection->writing.size());
    for (const std::string& frame : connection->writing) buffers.emplace_back(asio::buffer(frame));
    asio::async_write(connection->socket, buffers,
                      [weak = weak_from_this(), connection](const error_code& error, size_t) {
                        auto self = weak.lock();
                        if (!self || connection->closed) return;
                        if (error) {
                          ++self->stats.connections_lost;
                          return self->fail(connection, "lost the connection to " + connection->address + ": " +
                                                            error.message());
                        }
                        connection->writing.clear();
                        if (!connection->queue.empty()) self->write(connection);
                      });
  }

  void read(const std::shared_ptr<Connection>& connection) {
    connection->socket.async_read_some(
        asio::buffer(connection->buffer), [weak = weak_from_this(), connection](const error_code& error, size_t n) {
          auto self = weak.lock();
          if (!self || connection->closed) return;
          if (error) {
            ++self->stats.connections_lost;
            return self->fail(connection, "lost the connection to " + connection->address + ": " +
                                              (error == asio::error::eof ? "closed by the server" : error.message()));
          }
          connection->reader.feed(std::string_view(connection->buffer.data(), n));
          while (auto frame = connection->reader.next()) {
            self->on_frame(connection, std::move(*frame));
            if (connection->closed) return;
          }
          self->read(connection);
        });
  }

  // A server that sends what is not a response to us is broken or not a
  // server of this cluster: its connection is closed, which fails the calls
  // on it now rather than at their timeouts.
  void on_frame(const std::shared_ptr<Connection>& connection, raft::DecodedFrame frame) {
    std::string bad;
    if (frame.error != raft::FrameError::none) {
      bad = std::string(raft::frame_error_name(frame.error)) + ": " + frame.detail;
    } else if (frame.kind != raft::FrameKind::rpc_response) {
      bad = "a frame that is not an RPC response";
    }
    Result<Response> response = Status::invalid_argument(bad);
    if (bad.empty()) {
      response = decode_response(frame.rpc_payload);
      if (!response.is_ok()) bad = response.status().message();
    }
    if (!bad.empty()) {
      ++stats.bad_frames;
      ++stats.connections_lost;
      logger->warn("rpc client: closing the connection to {}: it sent {}", connection->address, bad);
      return fail(connection, "bad answer from " + connection->address + ": " + bad);
    }
    auto found = connection->calls.find(response->call_id);
    if (found == connection->calls.end()) {
      ++stats.late_replies;
      return;
    }
    auto pending = found->second;
    if (response->status.is_ok()) {
      end(*pending, std::move(response->payload));
    } else {
      end(*pending, std::move(response->status), /*from_server=*/true);
    }
  }

  void end(Call& pending, Result<std::string> result, bool from_server = false) {
    if (pending.ended) return;
    pending.ended = true;
    pending.timer.cancel();
    if (auto connection = pending.connection.lock()) connection->calls.erase(pending.id);
    if (auto server = servers.find(pending.server); server != servers.end() && server->second.in_flight > 0) {
      --server->second.in_flight;
    }
    if (result.is_ok()) {
      ++stats.succeeded;
    } else if (from_server) {
      ++stats.failed_by_server;
    } else {
      ++stats.failed_unavailable;
    }
    post_done(std::move(pending.done), std::move(result));
  }

  // Closes a connection and fails its calls with unavailable; the next call
  // to its server dials a new one.
  void fail(const std::shared_ptr<Connection>& connection, const std::string& why) {
    if (connection->closed) return;
    logger->info("rpc client: {}{}", why,
                 connection->calls.empty() ? std::string()
                                           : "; failing " + std::to_string(connection->calls.size()) + " calls");
    close(connection);
    const auto calls = std::move(connection->calls);
    connection->calls.clear();
    for (const auto& [id, pending] : calls) end(*pending, Status::unavailable("rpc client: " + why));
  }

  void close(const std::shared_ptr<Connection>& connection) {
    connection->closed = true;
    connection->connect_timer.cancel();
    error_code ignored;
    connection->socket.close(ignored);
    if (auto server = servers.find(connection->address); server != servers.end()) {
      auto& list = server->second.connections;
      list.erase(std::remove(list.begin(), list.end(), connection), list.end());
    }
  }

  void close_idle() {
    for (auto& [address, server] : servers) {
      const auto connections = server.connections;
      for (const auto& connection : connections) {
        if (connection->calls.empty()) close(connection);
      }
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    for (auto& [address, server] : servers) {
      const auto connections = server.connections;
      for (const auto& connection : connections) fail(connection, "stopped");
    }
    servers.clear();
  }

  asio::any_io_executor executor;
  const Clock& clock;
  std::shared_ptr<spdlog::logger> logger;
  RpcClientOptions options;
  std::map<std::string, Server> servers;
  uint64_t next_call_id = 1;
  RpcClientStats stats;
  bool stopped = false;
};

RpcClient::RpcClient(asio::any_io_executor executor, const Clock& clock, std::shared_ptr<spdlog::logger> logger,
                     RpcClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), clock, std::move(logger), std::move(options))) {}

RpcClient::~RpcClient() { impl_->stop(); }

void RpcClient::call(const std::string& server_address, std::string method, std::string payload,
                     std::chrono::milliseconds timeout, Done done) {
  impl_->call(server_address, std::move(method), std::move(payload), timeout, std::move(done));
}

void RpcClient::close_idle() { impl_->close_idle(); }
void RpcClient::stop() { impl_->stop(); }

size_t RpcClient::connections() const {
  size_t count = 0;
  for (const auto& [address, server] : impl_->servers) count += server.connections.size();
  return count;
}

RpcClientStats RpcClient::stats() const { return impl_->stats; }

}  // namespace roster::rpc
