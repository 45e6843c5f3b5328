#include "agent/raft/transport.h"

#include "agent/rpc/rpc_codec.h"
#include "common/accept_backoff.h"
#include "common/host_port.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/logger.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <vector>

namespace roster::raft {

namespace asio = boost::asio;
using asio::ip::tcp;
using error_code = boost::system::error_code;
using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

namespace {

constexpr size_t kReadBytes = 64 * 1024;
// One gathered write takes at most this many frames (or bytes, but always at
// least one frame), so a long queue does not become one huge syscall.
constexpr size_t kWriteBatchFrames = 64;
constexpr size_t kWriteBatchBytes = 1u << 20;
// accept() out of descriptors or memory: retry after this, doubling up to the
// cap, instead of at once (which spins a core and floods the log).
constexpr auto kAcceptBackoffFirst = std::chrono::milliseconds(50);
constexpr auto kAcceptBackoffMax = std::chrono::seconds(1);
constexpr auto kAcceptLogInterval = std::chrono::seconds(10);
constexpr size_t kMaxDropLogKeys = 4096;

// Servers are addressed by IP, never by name.
std::optional<tcp::endpoint> parse_endpoint(const std::string& text) {
  auto split = split_host_port(text);
  if (!split) return std::nullopt;
  return tcp::endpoint(split->first, split->second);
}

// Why an incoming frame was dropped, in words an operator can act on.
const char* drop_reason(FrameError error) {
  switch (error) {
    case FrameError::oversized: return "its length is over this server's frame limit; closing the connection";
    case FrameError::truncated: return "the connection closed in the middle of it";
    case FrameError::malformed: return "it is not a valid Raft frame";
    case FrameError::foreign_cluster:
      return "it comes from another cluster (check the cluster ID and the server addresses); closing the connection";
    case FrameError::unknown_kind: return "it is of a kind this server does not serve";
    case FrameError::none: break;
  }
  return "unknown reason";
}

std::chrono::milliseconds millis(Duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration);
}

}  // namespace

struct Transport::Impl : std::enable_shared_from_this<Impl> {
  // One outgoing connection, or an attempt at one. Completion handlers hold
  // it, so its socket and the frames being written outlive the handlers;
  // a handler acts only while its link is still its peer's current one.
  struct Link {
    explicit Link(const asio::any_io_executor& executor) : socket(executor), connect_timer(executor) {}
    tcp::socket socket;
    asio::steady_timer connect_timer;
    std::vector<std::string> writing;
    std::array<char, 256> discard{};
    TimePoint connected_at{};
    bool connected = false;
  };

  struct Peer {
    Peer(const asio::any_io_executor& executor, ServerId peer_id) : id(peer_id), retry_timer(executor) {}
    ServerId id;
    std::string address;
    tcp::endpoint endpoint;
    std::deque<std::string> queue;  // not yet being written
    size_t queued_bytes = 0;        // queue and link->writing
    std::shared_ptr<Link> link;
    asio::steady_timer retry_timer;
    uint64_t retry_generation = 0;
    bool retry_pending = false;
    Duration backoff = Duration::zero();
    bool had_connection = false;  // a connection was established once
    bool in_trouble = false;      // since the last established connection: a failure or a loss
    bool full_logged = false;     // this episode of a full queue was logged
    bool removed = false;

    size_t queued_messages() const { return queue.size() + (link ? link->writing.size() : 0); }
  };

  // What an inbound connection carries, decided by its first well-formed frame.
  enum class Family : uint8_t { unknown, raft, rpc };

  struct Inbound {
    Inbound(tcp::socket s, const std::string& cluster_id, size_t max_frame_bytes, bool serve_rpc)
        : socket(std::move(s)), timer(socket.get_executor()), reader(cluster_id, max_frame_bytes, serve_rpc),
          buffer(kReadBytes) {}
    tcp::socket socket;
    asio::steady_timer timer;
    FrameReader reader;
    std::vector<char> buffer;
    std::string peer;  // "ip:port", for logs
    std::string ip;    // key of inbound_per_ip and of the drop log
    ServerId server = kNoServer;  // the member it sends as, once a frame was accepted
    Family family = Family::unknown;
    // RPC replies: queued, and the batch being written; reply_bytes counts both.
    std::deque<std::string> replies;
    std::vector<std::string> writing;
    size_t reply_bytes = 0;
    size_t calls_in_flight = 0;
    bool first_frame = false;
    bool closed = false;
  };

  Impl(asio::any_io_executor executor_in, const Clock& clock_in, std::shared_ptr<spdlog::logger> logger_in,
       TransportOptions options_in, Handler handler_in)
      : executor(std::move(executor_in)),
        clock(clock_in),
        logger(std::move(logger_in)),
        options(std::move(options_in)),
        handler(std::move(handler_in)),
        acceptor(executor),
        accept_timer(executor),
        random(options.seed ^ (options.local_id * 0x9e3779b97f4a7c15ULL)) {}

  Status start() {
    if (options.cluster_id.empty()) return Status::invalid_argument("raft transport: no cluster ID");
    if (options.local_id == kNoServer) return Status::invalid_argument("raft transport: no local server ID");
    if (options.max_frame_bytes > kMaxFrameBytes) {
      return Status::invalid_argument("raft transport: max frame of " + std::to_string(options.max_frame_bytes) +
                                      " bytes is over the ceiling of " + std::to_string(kMaxFrameBytes));
    }
    error_code error;
    const auto ip = asio::ip::make_address(options.bind_ip, error);
    if (error) return Status::invalid_argument("raft transport: bad bind address \"" + options.bind_ip + "\"");
    const tcp::endpoint endpoint(ip, options.port);
    const std::string where = join_host_port(ip, options.port);
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      error_code ignored;
      acceptor.close(ignored);
      return Status::unavailable(where + ": " + error.message());
    }
    bound_port = acceptor.local_endpoint(error).port();
    logger->info("raft transport: server {} listening on {}", options.local_id, join_host_port(ip, bound_port));
    accept();
    return Status::ok();
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    error_code ignored;
    acceptor.close(ignored);
    accept_timer.cancel();
    for (auto& [id, peer] : peers) remove_peer(*peer);
    peers.clear();
    for (const auto& connection : std::vector<std::shared_ptr<Inbound>>(inbound.begin(), inbound.end())) {
      close(*connection);
    }
  }

  // ---- members ----

  Status set_members(const std::map<ServerId, std::string>& members) {
    std::map<ServerId, tcp::endpoint> endpoints;
    for (const auto& [id, address] : members) {
      if (id == options.local_id) continue;
      if (id == kNoServer) return Status::invalid_argument("raft transport: a member without a server ID");
      auto endpoint = parse_endpoint(address);
      if (!endpoint) {
        return Status::invalid_argument("raft transport: server " + std::to_string(id) + " has address \"" +
                                        address + "\", not ip:port");
      }
      endpoints.emplace(id, *endpoint);
    }
    for (auto it = peers.begin(); it != peers.end();) {
      if (endpoints.count(it->first) == 0) {
        logger->info("raft transport: server {} at {} is no longer a member", it->first, it->second->address);
        remove_peer(*it->second);
        it = peers.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [id, endpoint] : endpoints) {
      auto& slot = peers[id];
      if (!slot) slot = std::make_shared<Peer>(executor, id);
      Peer& peer = *slot;
      const std::string& address = members.at(id);
      if (peer.address == address) continue;
      if (!peer.address.empty()) {
        logger->info("raft transport: server {} moved from {} to {}", id, peer.address, address);
      }
      peer.address = address;
      peer.endpoint = endpoint;
      // Dial the new address at once; the old one's troubles say nothing about it.
      drop_link(peer);
      cancel_retry(peer);
      peer.backoff = Duration::zero();
      pump(peer);
    }
    // Connections from servers that left stop being served.
    for (const auto& connection : std::vector<std::shared_ptr<Inbound>>(inbound.begin(), inbound.end())) {
      if (connection->server != kNoServer && peers.count(connection->server) == 0) close(*connection);
    }
    return Status::ok();
  }

  // Forgets a peer: its connection closes, its queue is dropped.
  void remove_peer(Peer& peer) {
    peer.removed = true;
    cancel_retry(peer);
    drop_link(peer);
    stats.dropped_unsent += peer.queue.size();
    peer.queue.clear();
    peer.queued_bytes = 0;
  }

  // ---- outgoing ----

  bool send(Message message) {
    if (stopped) return false;
    message.from = options.local_id;
    auto found = peers.find(message.to);
    if (found == peers.end()) {
      ++stats.dropped_unknown_peer;
      log_throttled(spdlog::level::debug, "unknown-peer|" + std::to_string(message.to),
                    "raft transport: not sending {} to server {}: not a member", message_type_name(message.type),
                    message.to);
      return false;
    }
    Peer& peer = *found->second;
    std::string frame = encode_frame(options.cluster_id, message);
    if (frame.size() - kFrameHeaderBytes > options.max_frame_bytes) {
      ++stats.dropped_too_large;
      log_throttled(spdlog::level::warn, "too-large|" + std::to_string(peer.id),
                    "raft transport: dropped a {} to server {}: its frame of {} bytes is over the limit of {}",
                    message_type_name(message.type), peer.id, frame.size() - kFrameHeaderBytes,
                    options.max_frame_bytes);
      return false;
    }
    if (!has_room(peer, frame.size())) {
      ++stats.dropped_queue_full;
      if (!peer.full_logged) {
        peer.full_logged = true;
        logger->warn("raft transport: the queue to server {} at {} is full ({} messages, {} bytes{}); dropping "
                     "messages to it until it drains",
                     peer.id, peer.address, peer.queued_messages(), peer.queued_bytes,
                     peer.link && peer.link->connected ? "" : ", not connected");
      }
      return false;
    }
    peer.queued_bytes += frame.size();
    peer.queue.push_back(std::move(frame));
    pump(peer);
    return true;
  }

  bool has_room(const Peer& peer, size_t frame_bytes) const {
    if (peer.queued_messages() >= options.max_queue_messages) return false;
    return peer.queued_bytes == 0 || peer.queued_bytes + frame_bytes <= options.max_queue_bytes;
  }

  void pump(Peer& peer) {
    if (stopped || peer.removed || peer.queue.empty()) return;
    if (!peer.link) {
      if (!peer.retry_pending) dial(peer);
      return;
    }
    if (peer.link->connected && peer.link->writing.empty()) write(peer);
  }

  void dial(Peer& peer) {
    auto link = std::make_shared<Link>(executor);
    peer.link = link;
    auto shared_peer = peers.at(peer.id);
    link->connect_timer.expires_after(options.connect_timeout);
    link->connect_timer.async_wait([link](const error_code& error) {
      if (error || link->connected) return;
      error_code ignored;
      link->socket.close(ignored);  // the connect completes with operation_aborted
    });
    link->socket.async_connect(
        peer.endpoint, [weak = weak_from_this(), shared_peer, link](const error_code& error) {
          auto self = weak.lock();
          if (!self || self->stopped || shared_peer->link != link) return;
          link->connect_timer.cancel();
          if (error) {
            return self->connect_failed(*shared_peer,
                                        error == asio::error::operation_aborted ? "timed out" : error.message());
          }
          self->connected(*shared_peer);
        });
  }

  void connected(Peer& peer) {
    Link& link = *peer.link;
    link.connected = true;
    link.connected_at = clock.now();
    error_code ignored;
    link.socket.set_option(tcp::no_delay(true), ignored);
    ++stats.connects;
    if (peer.in_trouble || peer.had_connection) {
      ++stats.reconnects;
      if (peer.in_trouble) logger->info("raft transport: reconnected to server {} at {}", peer.id, peer.address);
    }
    peer.had_connection = true;
    peer.in_trouble = false;
    watch_for_close(peer);
    pump(peer);
  }

  void connect_failed(Peer& peer, const std::string& why) {
    ++stats.connect_failures;
    if (!peer.in_trouble) {
      logger->warn("raft transport: cannot reach server {} at {}: {}; retrying with backoff up to {} ms", peer.id,
                   peer.address, why, options.reconnect_backoff_max.count());
    }
    peer.in_trouble = true;
    drop_link(peer);
    retry_later(peer, /*connection_lasted=*/false);
  }

  // Nothing is read on a connection this server dialled; the read only
  // notices the peer closing it, so the next frame goes to a new connection.
  void watch_for_close(Peer& peer) {
    auto link = peer.link;
    link->socket.async_read_some(
        asio::buffer(link->discard),
        [weak = weak_from_this(), shared_peer = peers.at(peer.id), link](const error_code& error, size_t) {
          auto self = weak.lock();
          if (!self || self->stopped || shared_peer->link != link) return;
          if (error) return self->connection_lost(*shared_peer, error.message());
          self->watch_for_close(*shared_peer);
        });
  }

  void write(Peer& peer) {
    auto link = peer.link;
    std::vector<asio::const_buffer> buffers;
    size_t bytes = 0;
    while (!peer.queue.empty() && link->writing.size() < kWriteBatchFrames &&
           (link->writing.empty() || bytes + peer.queue.front().size() <= kWriteBatchBytes)) {
      bytes += peer.queue.front().size();
      link->writing.push_back(std::move(peer.queue.front()));
      peer.queue.pop_front();
    }
    buffers.reserve(link->writing.size());
    for (const std::string& frame : link->writing) buffers.emplace_back(asio::buffer(frame));
    asio::async_write(
        link->socket, buffers,
        [weak = weak_from_this(), shared_peer = peers.at(peer.id), link](const error_code& error, size_t written) {
          auto self = weak.lock();
          if (!self || self->stopped || shared_peer->link != link) return;
          if (error) return self->connection_lost(*shared_peer, error.message());
          self->stats.frames_sent += link->writing.size();
          self->stats.bytes_sent += written;
          shared_peer->queued_bytes -= written;
          link->writing.clear();
          if (shared_peer->full_logged && self->has_room(*shared_peer, 0) &&
              shared_peer->queued_messages() <= self->options.max_queue_messages / 2) {
            shared_peer->full_logged = false;
            self->logger->info("raft transport: the queue to server {} is draining; sending again",
                               shared_peer->id);
          }
          self->pump(*shared_peer);
        });
  }

  void connection_lost(Peer& peer, const std::string& why) {
    ++stats.connections_lost;
    const bool lasted = clock.now() - peer.link->connected_at >= options.reconnect_backoff_max;
    if (!peer.in_trouble) {
      logger->info("raft transport: lost the connection to server {} at {}: {}", peer.id, peer.address, why);
    }
    peer.in_trouble = true;
    drop_link(peer);
    retry_later(peer, lasted);
  }

  // Closes the current link, if any; frames it was writing are lost (Raft
  // resends what matters).
  void drop_link(Peer& peer) {
    if (!peer.link) return;
    auto link = std::move(peer.link);
    peer.link.reset();
    for (const std::string& frame : link->writing) peer.queued_bytes -= frame.size();
    stats.dropped_unsent += link->writing.size();
    link->writing.clear();
    link->connect_timer.cancel();
    error_code ignored;
    link->socket.close(ignored);
  }

  // Backoff doubles on every failure and starts over after a connection that
  // lasted: a peer that accepts and at once closes (it does not count us as a
  // member yet) is not redialled in a tight loop.
  void retry_later(Peer& peer, bool connection_lasted) {
    if (connection_lasted) peer.backoff = Duration::zero();
    peer.backoff = peer.backoff == Duration::zero()
                       ? Duration(options.reconnect_backoff_first)
                       : std::min<Duration>(peer.backoff * 2, Duration(options.reconnect_backoff_max));
    // Jitter in [backoff / 2, backoff], so servers that lost a peer together
    // do not redial it in step.
    const auto ticks = peer.backoff.count();
    std::uniform_int_distribution<Duration::rep> jitter(ticks / 2, ticks);
    const Duration delay(jitter(random));
    peer.retry_pending = true;
    const uint64_t generation = ++peer.retry_generation;
    peer.retry_timer.expires_after(delay);
    peer.retry_timer.async_wait(
        [weak = weak_from_this(), shared_peer = peers.at(peer.id), generation](const error_code& error) {
          auto self = weak.lock();
          if (error || !self || self->stopped || shared_peer->removed ||
              shared_peer->retry_generation != generation) {
            return;
          }
          shared_peer->retry_pending = false;
          self->pump(*shared_peer);
        });
  }

  void cancel_retry(Peer& peer) {
    ++peer.retry_generation;
    peer.retry_pending = false;
    peer.retry_timer.cancel();
  }

  // ---- incoming ----

  void accept() {
    if (stopped) return;
    acceptor.async_accept([weak = weak_from_this()](const error_code& error, tcp::socket socket) {
      auto self = weak.lock();
      if (!self || self->stopped || error == asio::error::operation_aborted) return;
      if (!error) {
        self->accept_backoff.succeeded();
        self->serve(std::move(socket));
      } else {
        ++self->stats.accept_errors;
        if (is_resource_exhaustion(error)) return self->accept_later(error);
      }
      self->accept();
    });
  }

  // The pending connection stays in the backlog; retrying at once would fail
  // the same way, thousands of times a second.
  void accept_later(const error_code& error) {
    const AcceptBackoff::Decision wait = accept_backoff.failed(clock.now());
    if (wait.report) {
      logger->error("raft transport: cannot accept connections on port {}: {}; retrying with backoff (now {} ms){}",
                    bound_port, error.message(), millis(wait.retry_after).count(),
                    wait.unreported > 0 ? " (" + std::to_string(wait.unreported) +
                                              " more such errors since the last report)"
                                        : std::string());
    }
    accept_timer.expires_after(wait.retry_after);
    accept_timer.async_wait([weak = weak_from_this()](const error_code& timer_error) {
      if (timer_error) return;
      if (auto self = weak.lock()) self->accept();
    });
  }

  void serve(tcp::socket socket) {
    error_code error;
    const auto remote = socket.remote_endpoint(error);
    const std::string ip = error ? "?" : remote.address().to_string();
    const std::string peer = error ? "?" : join_host_port(remote.address(), remote.port());
    std::string refusal;
    if (inbound.size() >= options.max_inbound_connections) {
      refusal = "all " + std::to_string(options.max_inbound_connections) + " connection slots are taken";
    } else if (auto held = inbound_per_ip.find(ip);
               (held == inbound_per_ip.end() ? 0 : held->second) >= options.max_inbound_connections_per_ip) {
      refusal = ip + " already holds " + std::to_string(options.max_inbound_connections_per_ip) + " connections";
    }
    if (!refusal.empty()) {
      ++stats.refused;
      log_throttled(spdlog::level::warn, "refused|" + ip, "raft transport: refused a connection from {}: {}", peer,
                    refusal);
      socket.close(error);
      return;
    }
    ++stats.accepted;
    ++inbound_per_ip[ip];
    // Replies go out on this socket, often two in a row (a woken blocking
    // query's answer, then a write's acknowledgement): with Nagle on, the
    // second waits for the peer's delayed ACK, 40 ms on Linux.
    socket.set_option(tcp::no_delay(true), error);
    auto connection = std::make_shared<Inbound>(std::move(socket), options.cluster_id, options.max_frame_bytes,
                                                static_cast<bool>(options.rpc_handler));
    connection->peer = peer;
    connection->ip = ip;
    inbound.insert(connection);
    // Until a member's frame is in, a connection has proved nothing; it
    // must not hold a slot for long.
    connection->timer.expires_after(options.first_frame_timeout);
    connection->timer.async_wait([weak = weak_from_this(), connection](const error_code& timer_error) {
      auto self = weak.lock();
      if (timer_error || !self || connection->closed || connection->first_frame) return;
      ++self->stats.first_frame_timeouts;
      self->logger->debug("raft transport: closed a connection from {}: no valid frame within {} ms",
                          connection->peer, self->options.first_frame_timeout.count());
      self->close(*connection);
    });
    read(connection);
  }

  void read(const std::shared_ptr<Inbound>& connection) {
    connection->socket.async_read_some(
        asio::buffer(connection->buffer), [weak = weak_from_this(), connection](const error_code& error, size_t n) {
          auto self = weak.lock();
          if (!self || self->stopped || connection->closed) return;
          if (error) {
            if (auto left = connection->reader.finish()) self->drop(*connection, *left);
            return self->close(*connection);
          }
          self->stats.bytes_received += n;
          connection->reader.feed(std::string_view(connection->buffer.data(), n));
          while (auto frame = connection->reader.next()) {
            self->on_frame(connection, std::move(*frame));
            if (connection->closed) return;
          }
          self->read(connection);
        });
  }

  void on_frame(const std::shared_ptr<Inbound>& shared_connection, DecodedFrame frame) {
    Inbound& connection = *shared_connection;
    if (frame.error != FrameError::none) {
      drop(connection, frame);
      if (frame.error == FrameError::oversized || frame.error == FrameError::foreign_cluster) close(connection);
      return;
    }
    // Mixing is refused so that each family's rules (the member check, who
    // writes on the connection) hold for the whole connection, not per frame.
    const Family family = frame.kind == FrameKind::raft ? Family::raft : Family::rpc;
    if (connection.family == Family::unknown) connection.family = family;
    if (connection.family != family) {
      ++stats.closed_wrong_family;
      log_throttled(spdlog::level::warn, "wrong_family|" + connection.ip,
                    "raft transport: closed a connection from {}: it began with {} frames and then sent a {} frame",
                    connection.peer, family == Family::rpc ? "Raft" : "RPC", family == Family::rpc ? "RPC" : "Raft");
      return close(connection);
    }
    if (family == Family::rpc) return on_rpc_frame(shared_connection, std::move(frame));
    const ServerId from = frame.message.from;
    if (from == options.local_id || peers.count(from) == 0) {
      ++stats.dropped_non_member;
      log_throttled(spdlog::level::warn, "non_member|" + connection.ip,
                    "raft transport: dropped a frame from {}: it claims to come from server {}, which is not a "
                    "member of this cluster's configuration; closing the connection",
                    connection.peer, from);
      return close(connection);
    }
    ++stats.frames_received;
    connection.server = from;
    if (!connection.first_frame) {
      connection.first_frame = true;
      connection.timer.cancel();
    }
    asio::post(executor, [weak = weak_from_this(), message = std::move(frame.message)]() mutable {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      self->handler(std::move(message));
    });
  }

  // ---- RPC, server side ----

  void on_rpc_frame(const std::shared_ptr<Inbound>& connection, DecodedFrame frame) {
    if (frame.kind != FrameKind::rpc_request) {
      ++stats.rpc_malformed;
      log_throttled(spdlog::level::warn, "rpc_response|" + connection->ip,
                    "raft transport: dropped an RPC response from {}: a server takes only requests",
                    connection->peer);
      return;
    }
    auto request = rpc::decode_request(frame.rpc_payload);
    if (!request.is_ok()) {
      ++stats.rpc_malformed;
      log_throttled(spdlog::level::warn, "rpc_malformed|" + connection->ip,
                    "raft transport: dropped an RPC request from {}: {}", connection->peer,
                    request.status().message());
      return;
    }
    if (!connection->first_frame) {
      connection->first_frame = true;
      connection->timer.cancel();
    }
    if (connection->calls_in_flight >= options.max_rpc_calls_in_flight) {
      ++stats.rpc_busy;
      log_throttled(spdlog::level::warn, "rpc_busy|" + connection->ip,
                    "raft transport: refused an RPC call from {}: {} calls are in flight on its connection",
                    connection->peer, connection->calls_in_flight);
      return queue_reply(connection, request->call_id,
                         Status::unavailable("too many calls in flight on this connection"));
    }
    ++stats.rpc_requests;
    ++connection->calls_in_flight;
    rpc::CallInfo caller{std::move(request->from_node), connection->peer};
    rpc::Reply reply = make_reply(connection, request->call_id);
    asio::post(executor, [weak = weak_from_this(), caller = std::move(caller), method = std::move(request->method),
                          payload = std::move(request->payload), reply = std::move(reply)]() mutable {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      self->options.rpc_handler(caller, method, std::move(payload), std::move(reply));
    });
  }

  // The Reply holds the connection weakly: a handler that answers minutes
  // later must not keep a closed connection's socket and queue alive.
  rpc::Reply make_reply(const std::shared_ptr<Inbound>& connection, uint64_t call_id) {
    auto replied = std::make_shared<bool>(false);
    return [weak = weak_from_this(), weak_connection = std::weak_ptr<Inbound>(connection), call_id,
            replied](Result<std::string> result) {
      if (*replied) return;
      *replied = true;
      auto self = weak.lock();
      if (!self) return;
      auto live = weak_connection.lock();
      if (live && live->calls_in_flight > 0) --live->calls_in_flight;
      if (self->stopped || !live || live->closed) {
        ++self->stats.rpc_replies_dropped;
        return;
      }
      self->queue_reply(live, call_id, std::move(result));
    };
  }

  void queue_reply(const std::shared_ptr<Inbound>& connection, uint64_t call_id, Result<std::string> result) {
    rpc::Response response;
    response.call_id = call_id;
    if (result.is_ok()) {
      response.payload = std::move(result).value();
    } else {
      response.status = result.status();
    }
    std::string frame = rpc::encode_response_frame(options.cluster_id, response);
    if (rpc::frame_body_bytes(frame) > options.max_frame_bytes) {
      ++stats.rpc_replies_too_large;
      log_throttled(spdlog::level::warn, "rpc_too_large|" + connection->ip,
                    "raft transport: the reply to an RPC call from {} is {} bytes, over the frame limit of {}; "
                    "sending too_large instead",
                    connection->peer, rpc::frame_body_bytes(frame), options.max_frame_bytes);
      response.payload.clear();
      response.status = Status::too_large("the reply of " + std::to_string(rpc::frame_body_bytes(frame)) +
                                          " bytes is over the server's frame limit of " +
                                          std::to_string(options.max_frame_bytes));
      frame = rpc::encode_response_frame(options.cluster_id, response);
    }
    if (connection->reply_bytes > 0 && connection->reply_bytes + frame.size() > options.max_reply_queue_bytes) {
      ++stats.rpc_reply_queue_full;
      ++stats.rpc_replies_dropped;
      log_throttled(spdlog::level::warn, "rpc_queue_full|" + connection->ip,
                    "raft transport: closing the RPC connection from {}: {} bytes of replies are waiting for it to "
                    "read them",
                    connection->peer, connection->reply_bytes);
      return close(*connection);
    }
    connection->reply_bytes += frame.size();
    connection->replies.push_back(std::move(frame));
    if (connection->writing.empty()) write_replies(connection);
  }

  void write_replies(const std::shared_ptr<Inbound>& connection) {
    std::vector<asio::const_buffer> buffers;
    size_t bytes = 0;
    while (!connection->replies.empty() && connection->writing.size() < kWriteBatchFrames &&
           (connection->writing.empty() || bytes + connection->replies.front().size() <= kWriteBatchBytes)) {
      bytes += connection->replies.front().size();
      connection->writing.push_back(std::move(connection->replies.front()));
      connection->replies.pop_front();
    }
    buffers.reserve(connection->writing.size());
    for (const std::string& frame : connection->writing) buffers.emplace_back(asio::buffer(frame));
    asio::async_write(connection->socket, buffers,
                      [weak = weak_from_this(), connection](const error_code& error, size_t written) {
                        auto self = weak.lock();
                        if (!self || self->stopped || connection->closed) return;
                        if (error) {
                          self->logger->debug("raft transport: cannot write RPC replies to {}: {}", connection->peer,
                                              error.message());
                          return self->close(*connection);
                        }
                        self->stats.rpc_replies += connection->writing.size();
                        self->stats.rpc_reply_bytes += written;
                        connection->reply_bytes -= written;
                        connection->writing.clear();
                        if (!connection->replies.empty()) self->write_replies(connection);
                      });
  }

  void drop(const Inbound& connection, const DecodedFrame& frame) {
    switch (frame.error) {
      case FrameError::oversized: ++stats.dropped_oversized; break;
      case FrameError::truncated: ++stats.dropped_truncated; break;
      case FrameError::malformed: ++stats.dropped_malformed; break;
      case FrameError::foreign_cluster: ++stats.dropped_foreign_cluster; break;
      case FrameError::unknown_kind: ++stats.dropped_unknown_kind; break;
      case FrameError::none: return;
    }
    const auto level = frame.error == FrameError::truncated ? spdlog::level::info : spdlog::level::warn;
    log_throttled(level, std::string(frame_error_name(frame.error)) + "|" + connection.ip,
                  "raft transport: dropped a frame from {}{}: {} ({})", connection.peer,
                  frame.from == kNoServer ? std::string() : " (server " + std::to_string(frame.from) + ")",
                  drop_reason(frame.error), frame.detail);
  }

  void close(Inbound& connection) {
    if (connection.closed) return;
    connection.closed = true;
    // A write in flight keeps its buffers (`writing`) until its handler runs.
    stats.rpc_replies_dropped += connection.replies.size() + connection.writing.size();
    connection.replies.clear();
    if (auto it = inbound_per_ip.find(connection.ip); it != inbound_per_ip.end() && --it->second == 0) {
      inbound_per_ip.erase(it);
    }
    connection.timer.cancel();
    error_code ignored;
    connection.socket.close(ignored);
    // The set holds shared_ptrs; find ours by address.
    for (auto it = inbound.begin(); it != inbound.end(); ++it) {
      if (it->get() == &connection) {
        inbound.erase(it);
        break;
      }
    }
  }

  // Logs once per key (a cause and a peer) per drop_log_interval: a
  // misconfigured or hostile peer sends many frames a second.
  template <typename... Args>
  void log_throttled(spdlog::level::level_enum level, const std::string& key,
                     spdlog::format_string_t<Args...> format, Args&&... args) {
    const TimePoint now = clock.now();
    auto it = last_drop_log.find(key);
    if (it != last_drop_log.end() && now - it->second < options.drop_log_interval) return;
    if (last_drop_log.size() >= kMaxDropLogKeys) last_drop_log.clear();
    last_drop_log[key] = now;
    logger->log(level, format, std::forward<Args>(args)...);
  }

  asio::any_io_executor executor;
  const Clock& clock;
  std::shared_ptr<spdlog::logger> logger;
  TransportOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  asio::steady_timer accept_timer;
  AcceptBackoff accept_backoff{kAcceptBackoffFirst, kAcceptBackoffMax, kAcceptLogInterval};
  std::mt19937_64 random;
  std::map<ServerId, std::shared_ptr<Peer>> peers;
  std::set<std::shared_ptr<Inbound>> inbound;
  std::map<std::string, size_t> inbound_per_ip;
  std::map<std::string, TimePoint> last_drop_log;
  TransportStats stats;
  uint16_t bound_port = 0;
  bool stopped = false;
};

Transport::Transport(asio::any_io_executor executor, const Clock& clock, std::shared_ptr<spdlog::logger> logger,
                     TransportOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(std::move(executor), clock, std::move(logger), std::move(options),
                                   std::move(handler))) {}

Transport::~Transport() { impl_->stop(); }

Status Transport::start() { return impl_->start(); }
void Transport::stop() { impl_->stop(); }
uint16_t Transport::port() const { return impl_->bound_port; }
Status Transport::set_members(const std::map<ServerId, std::string>& members) { return impl_->set_members(members); }
bool Transport::send(Message message) { return impl_->send(std::move(message)); }

bool Transport::can_send(ServerId peer) const {
  auto it = impl_->peers.find(peer);
  return !impl_->stopped && it != impl_->peers.end() && impl_->has_room(*it->second, 0);
}

size_t Transport::queued_bytes(ServerId peer) const {
  auto it = impl_->peers.find(peer);
  return it == impl_->peers.end() ? 0 : it->second->queued_bytes;
}

size_t Transport::queued_messages(ServerId peer) const {
  auto it = impl_->peers.find(peer);
  return it == impl_->peers.end() ? 0 : it->second->queued_messages();
}

bool Transport::connected(ServerId peer) const {
  auto it = impl_->peers.find(peer);
  return it != impl_->peers.end() && it->second->link && it->second->link->connected;
}

const TransportStats& Transport::stats() const { return impl_->stats; }

}  // namespace roster::raft
