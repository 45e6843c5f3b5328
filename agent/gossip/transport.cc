#include "agent/gossip/transport.h"

#include "common/accept_backoff.h"
#include "common/host_port.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <optional>

#include "agent/gossip/wire/envelope.h"
#include "agent/gossip/wire/framing.h"
#include "agent/gossip/wire/random_source.h"
#include "agent/gossip/wire/replay_filter.h"
#include "agent/gossip/wire/seal.h"

namespace roster::gossip {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using error_code = boost::system::error_code;

namespace {

constexpr size_t kUdpBufferBytes = 65536;
constexpr size_t kTcpReadBytes = 16 * 1024;
constexpr auto kDropLogInterval = std::chrono::seconds(60);
// accept() out of descriptors or memory: retry after this, doubling up to the
// cap, instead of at once (which spins a core and floods the log).
constexpr auto kAcceptBackoffFirst = std::chrono::milliseconds(50);
constexpr auto kAcceptBackoffMax = std::chrono::seconds(1);
constexpr auto kAcceptLogInterval = std::chrono::seconds(10);
// Each save of the incarnation reserves this many: forged suspicions make a
// node refute at packet rate, and each refutation would otherwise cost a
// write and an fsync. A restart starts above the reservation.
constexpr Incarnation kIncarnationsPerSave = 16;
constexpr auto kPersistRetryInterval = std::chrono::seconds(1);

// What a full listener writes before it closes a connection it will not
// serve, so the initiator can say so instead of guessing at a wrong key. The
// first byte is no envelope kind, so no peer mistakes it for gossip.
constexpr std::string_view kListenerFullNotice = "\xff" "gossip listener full";

// Why a packet or push-pull was dropped, for a person reading the log.
std::string drop_reason(wire::WireError error) {
  switch (error) {
    case wire::WireError::wrong_key:
      return "it is encrypted with a key this agent does not have (or encryption is off here); "
             "check that -encrypt (or the keyring) matches the pool's";
    case wire::WireError::plain_refused:
      return "it is not encrypted and encryption is enabled here; the sender needs the pool's -encrypt key";
    case wire::WireError::replayed: return "it is a replay of a packet already seen";
    case wire::WireError::truncated: return "it is truncated";
    case wire::WireError::oversized: return "it is over the size limits";
    case wire::WireError::unknown_type: return "it holds only message types this version does not know";
    case wire::WireError::garbage: return "it is not a gossip message this agent can read";
    case wire::WireError::none: break;
  }
  return "unknown reason";
}

const char* reason_name(PushPullReason reason) {
  switch (reason) {
    case PushPullReason::join: return "join";
    case PushPullReason::early: return "early";
    case PushPullReason::periodic: return "periodic";
    case PushPullReason::reconnect: return "reconnect";
    case PushPullReason::unknown_peer: return "unknown-peer";
    case PushPullReason::relay: return "relay";
    case PushPullReason::tag_fetch: return "tag-fetch";
  }
  return "?";
}

// One outgoing TCP exchange: connect, write one frame, read one frame back.
// A refused connection fails with not_found (the host answered: nothing
// listens there); every other failure is unavailable.
class TcpExchange : public std::enable_shared_from_this<TcpExchange> {
 public:
  using Done = std::function<void(Result<std::string> payload)>;

  TcpExchange(asio::io_context& io, size_t max_frame_bytes, Done done)
      : socket_(io), timer_(io), reader_(max_frame_bytes), done_(std::move(done)) {}

  void start(tcp::endpoint endpoint, std::string request, std::chrono::steady_clock::time_point deadline) {
    request_ = wire::frame(request);
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](const error_code& error) {
      if (error) return;
      self->finish(Status::unavailable("timed out"));
    });
    socket_.async_connect(endpoint, [self = shared_from_this()](const error_code& error) {
      if (error == asio::error::connection_refused) {
        return self->finish(Status::not_found("connection refused: nothing listens there"));
      }
      if (error) return self->finish(Status::unavailable(error.message()));
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      asio::async_write(self->socket_, asio::buffer(self->request_),
                        [self](const error_code& write_error, size_t) {
                          if (write_error) return self->finish(Status::unavailable(write_error.message()));
                          self->read();
                        });
    });
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](const error_code& error, size_t n) {
      if (self->finished_) return;
      if (error == asio::error::eof) {
        return self->finish(Status::unavailable("the remote node closed the connection without answering"));
      }
      if (error) return self->finish(Status::unavailable(error.message()));
      if (Status fed = self->reader_.feed(std::string_view(self->buffer_.data(), n)); !fed.is_ok()) {
        return self->finish(fed);
      }
      auto frame = self->reader_.next();
      if (!frame.is_ok()) return self->finish(frame.status());
      if (frame->has_value() && **frame == kListenerFullNotice) {
        return self->finish(Status::unavailable(
            "the remote node's gossip listener is full (too many TCP connections, or too many from this address); "
            "it may be flooded with idle connections"));
      }
      if (frame->has_value()) return self->finish(std::move(**frame));
      self->read();
    });
  }

  void finish(Result<std::string> result) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    error_code ignored;
    socket_.close(ignored);
    Done done = std::move(done_);
    done(std::move(result));
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  wire::FrameReader reader_;
  Done done_;
  std::string request_;
  std::array<char, kTcpReadBytes> buffer_{};
  bool finished_ = false;
};

}  // namespace

struct Transport::Impl : std::enable_shared_from_this<Transport::Impl> {
  Impl(asio::io_context& io, const Clock& clock, TransportOptions options, TransportCallbacks callbacks)
      : io(io), clock(clock), options(std::move(options)), callbacks(std::move(callbacks)), udp_socket(io),
        acceptor(io), timer(io), accept_timer(io) {}

  // ---- setup ----

  Status bind() {
    error_code error;
    auto bind_address = asio::ip::make_address(options.bind_ip, error);
    if (error) return Status::invalid_argument("gossip bind address \"" + options.bind_ip + "\" is not an IP address");
    std::string advertise_ip = options.advertise_ip.empty() ? options.bind_ip : options.advertise_ip;
    auto advertise = asio::ip::make_address(advertise_ip, error);
    if (error) return Status::invalid_argument("gossip advertise address \"" + advertise_ip + "\" is not an IP address");
    if (advertise.is_unspecified()) {
      return Status::invalid_argument("cannot advertise " + advertise_ip + " for gossip; set -advertise");
    }
    // With port 0, TCP picks the port and UDP must get the same one. TCP
    // first: a free TCP port is the scarce one (outgoing connections hold
    // ephemeral ports), and the kernel's choice avoids them. Another process
    // may still hold the port on UDP, so try a few.
    const int attempts = options.port == 0 ? 16 : 1;
    std::string where;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      error_code ignored;
      udp_socket.close(ignored);
      acceptor.close(ignored);
      tcp::endpoint tcp_endpoint(bind_address, options.port);
      where = join_host_port(bind_address, options.port);
      acceptor.open(tcp_endpoint.protocol(), error);
      if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
      if (!error) acceptor.bind(tcp_endpoint, error);
      if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
      if (error) continue;
      uint16_t port = acceptor.local_endpoint(error).port();
      if (error) continue;
      where = join_host_port(bind_address, port);
      udp::endpoint udp_endpoint(bind_address, port);
      udp_socket.open(udp_endpoint.protocol(), error);
      if (!error) udp_socket.bind(udp_endpoint, error);
      if (error) continue;
      bound_port = port;
      address = join_host_port(advertise, port);
      return Status::ok();
    }
    error_code ignored;
    udp_socket.close(ignored);
    acceptor.close(ignored);
    return Status::unavailable("cannot listen for gossip on " + where + " (UDP and TCP): " + error.message());
  }

  Status start() {
    if (Status bound = bind(); !bound.is_ok()) return bound;
    options.swim.address = address;
    // Our state must fit what peers accept, or every push-pull with us fails.
    options.swim.max_push_pull_bytes = std::min(options.swim.max_push_pull_bytes, options.limits.max_push_pull_bytes);
    // Nothing persisted yet: even incarnation 0 must be saved before it is
    // advertised, or a restart would start at 0 again.
    persisted_incarnation = options.swim.initial_incarnation;
    if (Status valid = Swim::validate(options.swim); !valid.is_ok()) {
      stop();
      return valid;
    }
    swim = std::make_unique<Swim>(options.swim);
    swim->start(clock.now());
    receive_udp();
    accept_tcp();
    pump();
    return Status::ok();
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    error_code ignored;
    udp_socket.close(ignored);
    acceptor.close(ignored);
    timer.cancel();
    accept_timer.cancel();
  }

  const wire::Keyring* keyring() const { return options.keyring.empty() ? nullptr : &options.keyring; }
  size_t max_frame_bytes() const { return options.limits.max_push_pull_bytes + wire::kEncryptedOverhead; }

  // ---- Swim's output ----

  // Drains Swim after an input. Callbacks may feed Swim again (a tag change on
  // an event); those inputs are drained by the same loop, not recursively.
  void pump() {
    if (pumping) {
      pump_again = true;
      return;
    }
    pumping = true;
    do {
      pump_again = false;
      SwimOutput output = swim->take_output();
      persist_incarnation();
      for (const SwimWarning& warning : output.warnings) spdlog::warn("gossip: {}", warning.text);
      for (const OutgoingPacket& packet : output.packets) send_packet(packet);
      for (PushPullRequest& request : output.push_pulls) start_push_pull(std::move(request));
      for (const TcpProbeRequest& request : output.tcp_probes) start_tcp_probe(request);
      for (const MemberEvent& event : output.events) report(event);
      for (const UserEvent& event : output.user_events) {
        spdlog::debug("gossip: user event {} (ID {}, Lamport time {})", event.name, event.id, event.ltime);
        if (callbacks.on_user_event) callbacks.on_user_event(event);
      }
      if (swim->halted() && !halt_reported) {
        halt_reported = true;
        if (callbacks.on_halt) callbacks.on_halt(swim->halt_reason());
      }
    } while (pump_again);
    pumping = false;
    arm_timer();
  }

  // Before anything that carries Swim's incarnation leaves.
  void persist_incarnation() {
    const Incarnation incarnation = swim->local_incarnation();
    if ((persisted_incarnation && incarnation <= *persisted_incarnation) || !callbacks.persist_incarnation) return;
    // A failing disk is retried once a second, not at every packet.
    const TimePoint now = clock.now();
    if (last_persist_failure != TimePoint{} && now - last_persist_failure < kPersistRetryInterval) return;
    const Incarnation reserved = incarnation > std::numeric_limits<Incarnation>::max() - kIncarnationsPerSave
                                     ? std::numeric_limits<Incarnation>::max()
                                     : incarnation + kIncarnationsPerSave - 1;
    if (Status saved = callbacks.persist_incarnation(reserved); !saved.is_ok()) {
      if (last_persist_failure == TimePoint{} || now - last_persist_failure >= kDropLogInterval) {
        spdlog::error("gossip: cannot persist incarnation {}: {}; a restart may reuse it", incarnation,
                      saved.message());
      }
      last_persist_failure = now;
      return;
    }
    last_persist_failure = TimePoint{};
    persisted_incarnation = reserved;
  }

  void arm_timer() {
    if (stopped) return;
    TimePoint deadline = swim->next_deadline();
    if (deadline == armed_for) return;
    armed_for = deadline;
    if (deadline == TimePoint::max()) {
      timer.cancel();
      return;
    }
    timer.expires_at(deadline);
    timer.async_wait([weak = weak_from_this()](const error_code& error) {
      if (error) return;
      auto self = weak.lock();
      if (!self || self->stopped) return;
      self->armed_for = TimePoint::min();
      self->swim->tick(self->clock.now());
      self->pump();
    });
  }

  void report(const MemberEvent& event) {
    const Member& member = event.member;
    switch (event.type) {
      case MemberEventType::join:
        spdlog::info("gossip: node {} joined ({})", member.name, member.address);
        break;
      case MemberEventType::update:
        spdlog::info("gossip: node {} updated (address {}, {} tags, incarnation {})", member.name, member.address,
                     member.tags.size(), member.incarnation);
        break;
      case MemberEventType::suspect:
        spdlog::info("gossip: node {} suspected{}{}", member.name, event.detail.empty() ? "" : ": ", event.detail);
        break;
      case MemberEventType::failed:
        spdlog::warn("gossip: node {} failed{}{}", member.name, event.detail.empty() ? "" : ": ", event.detail);
        break;
      case MemberEventType::left:
        spdlog::info("gossip: node {} left", member.name);
        break;
      case MemberEventType::alive_again:
        spdlog::info("gossip: node {} is alive again (suspicion or leave refuted)", member.name);
        break;
      case MemberEventType::leaving:
        spdlog::info("gossip: node {} is leaving{}{}", member.name, event.detail.empty() ? "" : ": ", event.detail);
        break;
      case MemberEventType::reaped:
        spdlog::info("gossip: node {} reaped (forgotten after being failed or left)", member.name);
        break;
      case MemberEventType::collision:
        spdlog::error("gossip: refused a claim by {} at {}: {}", member.name, member.address, event.detail);
        break;
    }
    if (callbacks.on_event) callbacks.on_event(event);
  }

  // ---- UDP ----

  void send_packet(const OutgoingPacket& outgoing) {
    auto target = split_host_port(outgoing.address);
    if (!target) {
      spdlog::debug("gossip: not sending to \"{}\": not ip:port", outgoing.address);
      return;
    }
    const size_t overhead = wire::seal_overhead(keyring());
    const size_t budget = options.swim.max_packet_bytes > overhead ? options.swim.max_packet_bytes - overhead : 0;
    std::vector<Message> too_large;
    std::vector<std::string> encoded = wire::pack(outgoing.packet.messages, budget, &too_large);
    if (!too_large.empty()) {
      spdlog::debug("gossip: {} message(s) to {} too large for a datagram; dropped", too_large.size(),
                    outgoing.address);
    }
    udp::endpoint endpoint(target->first, target->second);
    for (const std::string& payload : encoded) {
      auto sealed = wire::seal_encoded_packet(payload, keyring(), random);
      if (!sealed.is_ok()) {
        ++counters.send_errors;
        spdlog::warn("gossip: cannot seal a packet: {}", sealed.status().message());
        continue;
      }
      auto bytes = std::make_shared<std::string>(std::move(sealed).value());
      ++counters.udp_packets_sent;
      counters.udp_bytes_sent += bytes->size();
      udp_socket.async_send_to(asio::buffer(*bytes), endpoint,
                               [self = shared_from_this(), bytes](const error_code& error, size_t) {
                                 if (error && error != asio::error::operation_aborted) ++self->counters.send_errors;
                               });
    }
  }

  void receive_udp() {
    if (stopped) return;
    udp_socket.async_receive_from(
        asio::buffer(udp_buffer), udp_sender, [self = shared_from_this()](const error_code& error, size_t n) {
          if (self->stopped || error == asio::error::operation_aborted) return;
          if (!error) self->on_datagram(std::string_view(self->udp_buffer.data(), n));
          self->receive_udp();
        });
  }

  void on_datagram(std::string_view datagram) {
    ++counters.udp_packets_received;
    counters.udp_bytes_received += datagram.size();
    const std::string from = join_host_port(udp_sender.address(), udp_sender.port());
    wire::WireError error = wire::WireError::none;
    auto packet = wire::open_packet(datagram, keyring(), &replay, options.limits, wire_counters, &error);
    if (!packet.is_ok()) {
      log_drop("packet", from, error, packet.status());
      return;
    }
    swim->on_packet(clock.now(), from, *packet);
    pump();
  }

  // One line per cause and peer per interval: a misconfigured node sends
  // many packets a second.
  void log_drop(const char* what, const std::string& from, wire::WireError error, const Status& status) {
    auto now = clock.now();
    std::string key = std::string(wire::wire_error_name(error)) + "|" + from;
    auto it = last_drop_log.find(key);
    if (it != last_drop_log.end() && now - it->second < kDropLogInterval) return;
    if (last_drop_log.size() > 4096) last_drop_log.clear();
    last_drop_log[key] = now;
    auto level = (error == wire::WireError::wrong_key || error == wire::WireError::plain_refused)
                     ? spdlog::level::warn
                     : spdlog::level::debug;
    spdlog::log(level, "gossip: dropped a {} from {}: {} ({})", what, from, drop_reason(error), status.message());
  }

  // ---- TCP, outgoing ----

  void start_push_pull(PushPullRequest request) {
    auto target = split_host_port(request.address);
    if (!target) {
      fail_push_pull(request.address, request.reason, "\"" + request.address + "\" is not ip:port");
      return;
    }
    auto sealed = wire::seal_push_pull(request.state, keyring(), random);
    if (!sealed.is_ok()) {
      fail_push_pull(request.address, request.reason, "cannot seal our state: " + sealed.status().message());
      return;
    }
    const std::string address = request.address;
    const PushPullReason reason = request.reason;
    auto exchange = std::make_shared<TcpExchange>(
        io, max_frame_bytes(), [weak = weak_from_this(), address, reason](Result<std::string> reply) {
          auto self = weak.lock();
          if (!self || self->stopped) return;
          self->on_push_pull_reply(address, reason, std::move(reply));
        });
    exchange->start(tcp::endpoint(target->first, target->second), std::move(sealed).value(),
                    std::chrono::steady_clock::now() + options.tcp_timeout);
  }

  void on_push_pull_reply(const std::string& address, PushPullReason reason, Result<std::string> reply) {
    if (!reply.is_ok()) {
      std::string why = reply.status().message();
      if (why.find("closed the connection") != std::string::npos) {
        why += " (it may have refused our state: is -encrypt the same key on both sides?)";
      }
      fail_push_pull(address, reason, why);
      return;
    }
    wire::WireError error = wire::WireError::none;
    auto state = wire::open_push_pull(*reply, keyring(), &replay, options.limits, wire_counters, &error);
    if (!state.is_ok()) {
      log_drop("push-pull reply", address, error, state.status());
      fail_push_pull(address, reason, "its answer was refused: " + drop_reason(error));
      return;
    }
    swim->on_push_pull_reply(clock.now(), address, *state);
    if (reason == PushPullReason::join && callbacks.on_join_result) callbacks.on_join_result(address, true, "");
    pump();
  }

  void fail_push_pull(const std::string& address, PushPullReason reason, const std::string& why) {
    ++counters.tcp_failed;
    if (reason == PushPullReason::join) {
      spdlog::warn("gossip: joining {} failed: {}", address, why);
    } else {
      spdlog::debug("gossip: {} push-pull with {} failed: {}", reason_name(reason), address, why);
    }
    if (swim) swim->on_push_pull_failed(clock.now(), address);
    if (reason == PushPullReason::join && callbacks.on_join_result) callbacks.on_join_result(address, false, why);
    pump();
  }

  void start_tcp_probe(const TcpProbeRequest& request) {
    const uint32_t sequence = request.ping.sequence;
    auto target = split_host_port(request.address);
    Packet packet;
    packet.messages.emplace_back(request.ping);
    auto sealed = wire::seal_packet(packet, keyring(), random);
    if (!target || !sealed.is_ok()) {
      swim->on_tcp_probe_result(clock.now(), sequence, TcpProbeOutcome::failed);
      pump();
      return;
    }
    auto exchange = std::make_shared<TcpExchange>(
        io, max_frame_bytes(), [weak = weak_from_this(), sequence, from = request.address](Result<std::string> reply) {
          auto self = weak.lock();
          if (!self || self->stopped) return;
          TcpProbeOutcome outcome = TcpProbeOutcome::failed;
          if (reply.status().code() == StatusCode::not_found) outcome = TcpProbeOutcome::refused;
          if (reply.is_ok()) {
            wire::WireError error = wire::WireError::none;
            auto answer = wire::open_packet(*reply, self->keyring(), &self->replay, self->options.limits,
                                            self->wire_counters, &error);
            if (answer.is_ok()) {
              for (const Message& message : answer->messages) {
                if (const Ack* ack = std::get_if<Ack>(&message); ack != nullptr && ack->sequence == sequence) {
                  outcome = TcpProbeOutcome::reached;
                }
              }
            } else {
              self->log_drop("TCP probe answer", from, error, answer.status());
            }
          }
          self->swim->on_tcp_probe_result(self->clock.now(), sequence, outcome);
          self->pump();
        });
    auto deadline = request.deadline;
    // Swim's deadline is on the caller's clock; it is the steady clock in production.
    exchange->start(tcp::endpoint(target->first, target->second), std::move(sealed).value(), deadline);
  }

  void send_keyring_request(const std::string& address, const KeyringRequest& request,
                            std::function<void(Result<KeyringReply>)> done) {
    auto target = split_host_port(address);
    if (!target) return done(Status::invalid_argument("\"" + address + "\" is not ip:port"));
    auto sealed = wire::seal_keyring_request(request, keyring(), random);
    if (!sealed.is_ok()) return done(sealed.status());
    auto exchange = std::make_shared<TcpExchange>(
        io, max_frame_bytes(), [weak = weak_from_this(), address, done = std::move(done)](Result<std::string> reply) {
          auto self = weak.lock();
          if (!self || self->stopped) return;
          if (!reply.is_ok()) {
            ++self->counters.tcp_failed;
            std::string why = reply.status().message();
            if (why.find("closed the connection") != std::string::npos) {
              why += " (it may not hold the key this agent sends with)";
            }
            return done(Status::unavailable(why));
          }
          wire::WireError error = wire::WireError::none;
          auto answer = wire::open_keyring_reply(*reply, self->keyring(), &self->replay, self->options.limits,
                                                 self->wire_counters, &error);
          if (!answer.is_ok()) {
            self->log_drop("keyring reply", address, error, answer.status());
            return done(Status::unavailable("its answer was refused: " + drop_reason(error)));
          }
          done(std::move(answer).value());
        });
    exchange->start(tcp::endpoint(target->first, target->second), std::move(sealed).value(),
                    std::chrono::steady_clock::now() + options.tcp_timeout);
  }

  // ---- TCP, incoming ----

  void accept_tcp() {
    if (stopped) return;
    acceptor.async_accept([self = shared_from_this()](const error_code& error, tcp::socket socket) {
      if (self->stopped || error == asio::error::operation_aborted) return;
      if (!error) {
        self->accept_backoff.succeeded();
        self->serve(std::move(socket));
      } else {
        ++self->counters.tcp_accept_errors;
        if (is_resource_exhaustion(error)) return self->accept_later(error);
      }
      self->accept_tcp();
    });
  }

  // The pending connection stays in the backlog; retrying at once would fail
  // the same way, thousands of times a second.
  void accept_later(const error_code& error) {
    const AcceptBackoff::Decision wait = accept_backoff.failed(clock.now());
    if (wait.report) {
      spdlog::error("gossip: cannot accept TCP connections on port {}: {}; retrying with backoff (now {} ms){}",
                    bound_port, error.message(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(wait.retry_after).count(),
                    wait.unreported > 0
                        ? " (" + std::to_string(wait.unreported) + " more such errors since the last report)"
                        : std::string());
    }
    accept_timer.expires_after(wait.retry_after);
    accept_timer.async_wait([weak = weak_from_this()](const error_code& timer_error) {
      if (timer_error) return;
      if (auto self = weak.lock()) self->accept_tcp();
    });
  }

  struct Connection {
    explicit Connection(tcp::socket s, size_t max_frame) : socket(std::move(s)), timer(socket.get_executor()),
                                                           reader(max_frame) {}
    tcp::socket socket;
    asio::steady_timer timer;
    wire::FrameReader reader;
    std::array<char, kTcpReadBytes> buffer{};
    std::string reply;
    std::string peer;
    std::string ip;  // key of connections_per_ip
    bool closed = false;
    bool first_frame = false;  // has arrived whole
  };

  void serve(tcp::socket socket) {
    error_code error;
    auto remote = socket.remote_endpoint(error);
    const std::string ip = error ? "?" : remote.address().to_string();
    const std::string peer = error ? "?" : join_host_port(remote.address(), remote.port());
    if (active_connections >= options.max_tcp_connections) {
      return refuse(std::move(socket), peer,
                    "all " + std::to_string(options.max_tcp_connections) + " connection slots are taken");
    }
    if (auto held = connections_per_ip.find(ip);
        held != connections_per_ip.end() ? held->second >= options.max_tcp_connections_per_ip
                                         : options.max_tcp_connections_per_ip == 0) {
      return refuse(std::move(socket), peer,
                    ip + " already holds " + std::to_string(options.max_tcp_connections_per_ip) + " connections");
    }
    ++counters.tcp_accepted;
    ++active_connections;
    ++connections_per_ip[ip];
    auto connection = std::make_shared<Connection>(std::move(socket), max_frame_bytes());
    connection->peer = peer;
    connection->ip = ip;
    // Until its first frame is in, a connection has proved nothing (nor, in
    // an encrypted pool, that it holds the key): it gets a short deadline.
    connection->timer.expires_after(std::min(options.tcp_first_frame_timeout, options.tcp_timeout));
    connection->timer.async_wait([weak = weak_from_this(), connection](const error_code& timer_error) {
      if (timer_error) return;
      auto self = weak.lock();
      if (!self || connection->closed) return;
      if (!connection->first_frame) {
        ++self->counters.tcp_first_frame_timeouts;
        spdlog::debug("gossip: closed a TCP connection from {}: no complete frame within {} ms", connection->peer,
                      self->options.tcp_first_frame_timeout.count());
      }
      self->close(*connection);
    });
    read_request(connection);
  }

  // Tells the initiator the listener is full (best effort: the socket is
  // non-blocking and the notice tiny), then closes. What it already sent is
  // drained first, so the close is a FIN, not a reset that would discard the
  // notice on its side.
  void refuse(tcp::socket socket, const std::string& peer, const std::string& why) {
    ++counters.tcp_refused;
    error_code ignored;
    socket.non_blocking(true, ignored);
    std::array<char, kTcpReadBytes> scratch{};
    for (int reads = 0; reads < 64; ++reads) {
      error_code read_error;
      socket.read_some(asio::buffer(scratch), read_error);
      if (read_error) break;
    }
    const std::string notice = wire::frame(kListenerFullNotice);
    socket.write_some(asio::buffer(notice), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    const TimePoint now = clock.now();
    if (last_full_log == TimePoint{} || now - last_full_log >= kDropLogInterval) {
      spdlog::warn("gossip: TCP listener full: refused a connection from {}: {}{}", peer, why,
                   refused_unlogged > 0 ? " (" + std::to_string(refused_unlogged) + " more refused since the last report)"
                                        : std::string());
      last_full_log = now;
      refused_unlogged = 0;
    } else {
      ++refused_unlogged;
    }
  }

  void close(Connection& connection) {
    if (connection.closed) return;
    connection.closed = true;
    --active_connections;
    if (auto it = connections_per_ip.find(connection.ip); it != connections_per_ip.end() && --it->second == 0) {
      connections_per_ip.erase(it);
    }
    connection.timer.cancel();
    error_code ignored;
    connection.socket.close(ignored);
  }

  void read_request(const std::shared_ptr<Connection>& connection) {
    connection->socket.async_read_some(
        asio::buffer(connection->buffer),
        [weak = weak_from_this(), connection](const error_code& error, size_t n) {
          auto self = weak.lock();
          if (!self || connection->closed) return;
          if (error || self->stopped) return self->close(*connection);
          Status fed = connection->reader.feed(std::string_view(connection->buffer.data(), n));
          auto frame = fed.is_ok() ? connection->reader.next() : Result<std::optional<std::string>>(fed);
          if (!frame.is_ok()) {
            self->wire_counters.add(wire::WireError::oversized);
            self->log_drop("TCP frame", connection->peer, wire::WireError::oversized, frame.status());
            return self->close(*connection);
          }
          if (!frame->has_value()) return self->read_request(connection);
          // The rest of the exchange (our answer) gets the full timeout.
          connection->first_frame = true;
          connection->timer.expires_after(self->options.tcp_timeout);
          connection->timer.async_wait([weak, connection](const error_code& timer_error) {
            if (timer_error) return;
            if (auto owner = weak.lock()) owner->close(*connection);
          });
          self->answer(connection, **frame);
        });
  }

  void answer(const std::shared_ptr<Connection>& connection, const std::string& request) {
    wire::WireError error = wire::WireError::none;
    auto envelope = wire::parse_envelope(request, &error);
    if (!envelope.is_ok()) {
      wire_counters.add(error);
      log_drop("TCP message", connection->peer, error, envelope.status());
      return close(*connection);
    }
    Result<std::string> reply = Status::internal("no answer");
    if (wire::channel_of(envelope->kind) == wire::Channel::keyring) {
      auto asked = wire::open_keyring_request(request, keyring(), &replay, wire_counters, &error);
      if (!asked.is_ok()) {
        log_drop("keyring request", connection->peer, error, asked.status());
        return close(*connection);
      }
      KeyringReply answer;
      answer.node = swim->local_name();
      answer.error = "this agent does not serve keyring requests";
      if (callbacks.on_keyring_request) answer = callbacks.on_keyring_request(*asked);
      reply = wire::seal_keyring_reply(answer, keyring(), random);
    } else if (wire::channel_of(envelope->kind) == wire::Channel::push_pull) {
      auto remote = wire::open_push_pull(request, keyring(), &replay, options.limits, wire_counters, &error);
      if (!remote.is_ok()) {
        log_drop("push-pull", connection->peer, error, remote.status());
        return close(*connection);
      }
      PushPull ours = swim->on_push_pull(clock.now(), *remote);
      pump();
      reply = wire::seal_push_pull(ours, keyring(), random);
    } else {
      auto packet = wire::open_packet(request, keyring(), &replay, options.limits, wire_counters, &error);
      if (!packet.is_ok()) {
        log_drop("TCP probe", connection->peer, error, packet.status());
        return close(*connection);
      }
      Packet answer;
      for (const Message& message : packet->messages) {
        if (const Ping* ping = std::get_if<Ping>(&message)) {
          if (auto ack = swim->on_tcp_ping(clock.now(), *ping)) answer.messages.emplace_back(*ack);
        }
      }
      pump();
      if (answer.messages.empty()) return close(*connection);
      reply = wire::seal_packet(answer, keyring(), random);
    }
    if (!reply.is_ok()) {
      spdlog::warn("gossip: cannot seal a TCP answer: {}", reply.status().message());
      return close(*connection);
    }
    connection->reply = wire::frame(*reply);
    asio::async_write(connection->socket, asio::buffer(connection->reply),
                      [weak = weak_from_this(), connection](const error_code&, size_t) {
                        if (auto self = weak.lock()) self->close(*connection);
                      });
  }

  asio::io_context& io;
  const Clock& clock;
  TransportOptions options;
  TransportCallbacks callbacks;
  std::unique_ptr<Swim> swim;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  asio::steady_timer timer;
  asio::steady_timer accept_timer;
  AcceptBackoff accept_backoff{kAcceptBackoffFirst, kAcceptBackoffMax, kAcceptLogInterval};
  TimePoint last_full_log{};
  uint64_t refused_unlogged = 0;
  std::map<std::string, size_t> connections_per_ip;
  std::optional<Incarnation> persisted_incarnation;
  TimePoint last_persist_failure{};
  TimePoint armed_for = TimePoint::min();
  std::array<char, kUdpBufferBytes> udp_buffer{};
  udp::endpoint udp_sender;
  wire::ReplayFilter replay;
  wire::OpenSslRandomSource random;
  wire::WireCounters wire_counters;
  TransportCounters counters;
  std::map<std::string, TimePoint> last_drop_log;
  std::string address;
  uint16_t bound_port = 0;
  size_t active_connections = 0;
  bool stopped = false;
  bool pumping = false;
  bool pump_again = false;
  bool halt_reported = false;
};

Transport::Transport(asio::io_context& io, const Clock& clock, TransportOptions options, TransportCallbacks callbacks)
    : impl_(std::make_shared<Impl>(io, clock, std::move(options), std::move(callbacks))) {}

Transport::~Transport() { impl_->stop(); }

Status Transport::start() { return impl_->start(); }
void Transport::stop() { impl_->stop(); }
const std::string& Transport::address() const { return impl_->address; }
uint16_t Transport::port() const { return impl_->bound_port; }

void Transport::join(const std::vector<std::string>& addresses) {
  if (impl_->stopped) return;
  impl_->swim->join(impl_->clock.now(), addresses);
  impl_->pump();
}

void Transport::leave() {
  if (impl_->stopped) return;
  impl_->swim->leave(impl_->clock.now());
  impl_->pump();
}

bool Transport::leave_propagated() const { return impl_->swim->leave_propagated(); }

Status Transport::set_tags(TagMap tags) {
  Status status = impl_->swim->set_tags(impl_->clock.now(), std::move(tags));
  impl_->pump();
  return status;
}

Status Transport::force_leave(const std::string& name) {
  Swim& swim = *impl_->swim;
  if (name == swim.local_name()) {
    return Status::invalid_argument("cannot force-leave this agent's own node; use `roster leave`");
  }
  Status status = swim.force_leave(impl_->clock.now(), name);
  impl_->pump();
  return status;
}

Result<LamportTime> Transport::fire_user_event(UserEvent event) {
  if (impl_->stopped) return Status::unavailable("gossip has stopped on this agent");
  Result<LamportTime> fired = impl_->swim->fire_user_event(impl_->clock.now(), std::move(event));
  impl_->pump();
  return fired;
}

Status Transport::install_key(const std::string& raw_key) {
  if (impl_->options.keyring.empty()) {
    return Status::unavailable("gossip encryption is not enabled on this agent; restart it with -encrypt to enable it");
  }
  return impl_->options.keyring.install(raw_key);
}

Status Transport::use_key(const std::string& raw_key) {
  if (impl_->options.keyring.empty()) {
    return Status::unavailable("gossip encryption is not enabled on this agent; restart it with -encrypt to enable it");
  }
  return impl_->options.keyring.use(raw_key);
}

Status Transport::remove_key(const std::string& raw_key) {
  if (impl_->options.keyring.empty()) {
    return Status::unavailable("gossip encryption is not enabled on this agent; restart it with -encrypt to enable it");
  }
  return impl_->options.keyring.remove(raw_key);
}

const wire::Keyring& Transport::keyring() const { return impl_->options.keyring; }

void Transport::keyring_request(const std::string& address, const KeyringRequest& request,
                                std::function<void(Result<KeyringReply>)> done) {
  if (impl_->stopped) return;
  impl_->send_keyring_request(address, request, std::move(done));
}
const Swim& Transport::swim() const { return *impl_->swim; }
const wire::WireCounters& Transport::wire_counters() const { return impl_->wire_counters; }
const TransportCounters& Transport::counters() const { return impl_->counters; }

}  // namespace roster::gossip
