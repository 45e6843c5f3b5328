#include "agent/gossip/gossip_agent.h"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "agent/catalog/watch_hub.h"
#include "agent/gossip/wire/codec.h"
#include "common/metrics.h"

namespace roster::gossip {

namespace asio = boost::asio;

namespace {

constexpr auto kFirstRetryDelay = std::chrono::seconds(1);
constexpr auto kLeavePollInterval = std::chrono::milliseconds(50);

std::string bracketed(const asio::ip::address& address) {
  return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

// "ip", "ip:port", "[ipv6]:port", "host" or "host:port" -> "ip:port". A name
// is resolved here (IPv4 first), as memberlist does for -join.
Result<std::string> resolve_join_address(const std::string& text, uint16_t default_port) {
  if (wire::is_ip_port(text)) return text;
  boost::system::error_code error;
  auto ip = asio::ip::make_address(text, error);
  if (!error) return bracketed(ip) + ":" + std::to_string(default_port);
  std::string host = text;
  uint16_t port = default_port;
  if (size_t colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    const std::string port_text = text.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return Status::invalid_argument("\"" + text + "\" has no valid port");
    }
    port = static_cast<uint16_t>(value);
  }
  if (host.empty()) return Status::invalid_argument("\"" + text + "\" names no host");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return Status::not_found("cannot resolve \"" + host + "\": " + ::gai_strerror(rc));
  }
  std::optional<asio::ip::address> chosen;
  for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    if (entry->ai_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(entry->ai_addr);
      chosen = asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
      break;
    }
    if (entry->ai_family == AF_INET6 && !chosen) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(entry->ai_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), bytes.begin());
      chosen = asio::ip::address_v6(bytes);
    }
  }
  ::freeaddrinfo(found);
  if (!chosen) return Status::not_found("\"" + host + "\" has no IP address");
  return bracketed(*chosen) + ":" + std::to_string(port);
}

std::pair<std::string, uint16_t> split_ip_port(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {address, 0};
  std::string ip = address.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  unsigned port = 0;
  std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  return {ip, static_cast<uint16_t>(port)};
}

agent::MemberInfo to_info(const Member& member) {
  agent::MemberInfo info;
  info.name = member.name;
  info.id = member.id;
  std::tie(info.ip, info.port) = split_ip_port(member.address);
  for (const auto& [key, value] : member.tags) {
    if (key == kServerTagKey) {
      info.server = !value.empty() && value != "0";
      if (info.server) {
        const agent::ServerTag tag = agent::parse_server_tag(value);
        info.server_port = tag.port;
        info.bootstrap_expect = tag.bootstrap_expect;
        info.in_cluster = tag.in_cluster;
      }
    } else if (key == kHttpAddressTagKey) {
      info.http_address = value;
    }
    if (!key.empty() && key.front() == '\x01') continue;  // reserved keys are not the node's tags
    info.tags[key] = value;
  }
  info.state = member_state_name(member.state);
  switch (member.state) {
    case MemberState::alive:
    case MemberState::suspect: info.status = agent::MemberStatus::alive; break;
    case MemberState::dead: info.status = agent::MemberStatus::failed; break;
    case MemberState::left: info.status = agent::MemberStatus::left; break;
    case MemberState::leaving: info.status = agent::MemberStatus::leaving; break;
  }
  return info;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += (out.empty() ? "" : "; ") + line;
  return out;
}

}  // namespace

struct GossipAgent::Timers {
  explicit Timers(asio::io_context& io) : retry(io), snapshot(io), leave(io) {}
  asio::steady_timer retry;
  asio::steady_timer snapshot;
  asio::steady_timer leave;
};

GossipAgent::GossipAgent(asio::io_context& io, const Clock& clock, catalog::WatchHub& watch_hub,
                         GossipAgentOptions options, GossipAgentCallbacks callbacks)
    : io_(io), clock_(clock), watch_hub_(watch_hub), options_(std::move(options)), callbacks_(std::move(callbacks)),
      timers_(std::make_unique<Timers>(io)) {}

GossipAgent::~GossipAgent() { stop(); }

std::string GossipAgent::path(const char* file) const {
  return (std::filesystem::path(options_.data_dir) / file).string();
}

Status GossipAgent::start() {
  // The keyring: the file wins over -encrypt, so a rotated key is not undone
  // by the old -encrypt still in a unit file.
  wire::Keyring keyring;
  std::optional<std::string> encrypt_raw;
  if (!options_.encrypt_key.empty()) {
    auto raw = wire::decode_key(options_.encrypt_key);
    if (!raw.is_ok()) return Status::invalid_argument("-encrypt: " + raw.status().message());
    encrypt_raw = *raw;
  }
  if (!options_.data_dir.empty()) {
    auto loaded = load_keyring_file(path(kKeyringFileName));
    if (!loaded.is_ok()) return loaded.status();
    if (loaded->has_value()) {
      keyring = std::move(**loaded);
      if (encrypt_raw) {
        spdlog::info("gossip: ignoring -encrypt: {} exists and holds the keyring ({} key(s)); change keys with "
                     "`roster keyring`",
                     path(kKeyringFileName), keyring.size());
      }
    } else if (encrypt_raw) {
      if (Status installed = keyring.install(*encrypt_raw); !installed.is_ok()) return installed;
      if (Status saved = save_keyring_file(path(kKeyringFileName), keyring); !saved.is_ok()) return saved;
    }
    auto snapshot = load_peer_snapshot(path(kPeersFileName));
    if (!snapshot.is_ok()) {
      spdlog::warn("gossip: ignoring {}: {}", path(kPeersFileName), snapshot.status().message());
    } else {
      restored_ = *snapshot;
    }
  } else if (encrypt_raw) {
    if (Status installed = keyring.install(*encrypt_raw); !installed.is_ok()) return installed;
  }
  options_.transport.keyring = std::move(keyring);
  options_.transport.swim.tags = with_reserved_keys(options_.transport.swim.tags);
  if (restored_) options_.transport.swim.initial_incarnation = restored_->incarnation;
  if (options_.transport.swim.seed == 1) {
    options_.transport.swim.seed = static_cast<uint64_t>(clock_.now().time_since_epoch().count()) ^
                                   std::hash<std::string>{}(options_.transport.swim.id);
  }

  TransportCallbacks callbacks;
  callbacks.on_join_result = [this](const std::string& address, bool ok, const std::string& error) {
    on_join_result(address, ok, error);
  };
  // The first peer is worth saving at once: a node killed before the first
  // periodic save could not rejoin by itself otherwise.
  callbacks.on_event = [this](const MemberEvent& event) {
    if (event.type == MemberEventType::join && saved_.peers.empty() && !leaving_) (void)save_snapshot(false);
    watch_hub_.notify({agent::kMembersWatchKey});
  };
  callbacks.on_keyring_request = [this](const KeyringRequest& request) { return answer_keyring(request); };
  callbacks.on_user_event = [this](const UserEvent& event) {
    if (!user_event_handler_) return;
    user_event_handler_(agent::UserEventInfo{event.id, event.name, event.payload, event.node_filter,
                                             event.service_filter, event.tag_filter, agent::kUserEventVersion,
                                             event.ltime});
  };
  // Saved before it is advertised (the transport calls this before sending):
  // a restart starts above it, so it never reuses an incarnation whose tags
  // or address differed. The periodic save alone could lag by 10 s.
  callbacks.persist_incarnation = [this](Incarnation reserved) {
    reserved_incarnation_ = std::max(reserved_incarnation_, reserved);
    return save_snapshot(false);
  };
  callbacks.on_halt = [this](const std::string& reason) {
    std::string fix = "this looks like a cloned image or a reused -node name; give this node another -node name";
    if (!options_.data_dir.empty()) fix += ", or delete " + path("node-id") + " if the ID is the duplicate";
    if (callbacks_.on_fatal) callbacks_.on_fatal(reason + ": " + fix);
  };
  transport_ = std::make_unique<Transport>(io_, clock_, options_.transport, std::move(callbacks));
  if (Status started = transport_->start(); !started.is_ok()) {
    transport_.reset();  // nothing to save or stop: the agent exits
    return started;
  }
  spdlog::info("gossip: listening on {} (UDP and TCP), advertising {}, encryption {}", transport_->port(),
               transport_->address(), transport_->keyring().empty() ? "off" : "on");

  if (!options_.join.empty()) {
    std::vector<std::string> addresses = options_.join;
    join_then(addresses, [this, addresses](const agent::JoinOutcome& outcome) {
      if (outcome.joined == 0) {
        if (callbacks_.on_fatal) {
          callbacks_.on_fatal("could not join the gossip pool through any of -join " + join_lines(addresses) + ": " +
                              join_lines(outcome.errors) +
                              "; to start anyway and keep trying until one answers, use -retry-join instead");
        }
        return;
      }
      spdlog::info("gossip: joined the pool through {} of {} -join address(es)", outcome.joined, addresses.size());
    });
  }
  if (!options_.retry_join.empty()) {
    retry_join(options_.retry_join, 0, false);
  } else if (options_.join.empty() && restored_ && !restored_->peers.empty()) {
    spdlog::info("gossip: rejoining from {} last-known peer(s) in {}", restored_->peers.size(), path(kPeersFileName));
    retry_join(restored_->peers, 0, true);
  }
  schedule_snapshot();
  return Status::ok();
}

void GossipAgent::stop() {
  if (stopped_ || !transport_) return;
  stopped_ = true;
  (void)save_snapshot(leave_done_);
  timers_->retry.cancel();
  timers_->snapshot.cancel();
  timers_->leave.cancel();
  transport_->stop();
}

// ---- joins ----

uint64_t GossipAgent::start_join(const std::vector<std::string>& addresses) { return join_then(addresses, nullptr); }

uint64_t GossipAgent::join_then(const std::vector<std::string>& addresses,
                                std::function<void(const agent::JoinOutcome&)> then) {
  const uint64_t id = next_ticket_++;
  Ticket& ticket = tickets_[id];
  ticket.then = std::move(then);
  const uint16_t default_port = transport_->port() != 0 ? transport_->port() : kDefaultSerfLanPort;
  std::vector<std::string> resolved;
  for (const std::string& text : addresses) {
    auto address = resolve_join_address(text, default_port);
    if (!address.is_ok()) {
      ticket.outcome.errors.push_back(text + ": " + address.status().message());
    } else if (*address == transport_->address()) {
      ticket.outcome.errors.push_back(text + ": this is this agent's own gossip address");
    } else if (ticket.waiting.insert(*address).second) {
      resolved.push_back(*address);
    }
  }
  if (transport_->swim().has_left() || transport_->swim().halted()) {
    for (const std::string& address : resolved) ticket.outcome.errors.push_back(address + ": this agent has left the pool");
    ticket.waiting.clear();
    resolved.clear();
  }
  if (!resolved.empty()) spdlog::info("gossip: joining {}", join_lines(resolved));
  if (ticket.waiting.empty()) {
    finish_ticket(id, ticket);
  } else {
    transport_->join(resolved);  // outcomes arrive through on_join_result
  }
  return id;
}

void GossipAgent::on_join_result(const std::string& address, bool ok, const std::string& error) {
  std::vector<uint64_t> finished;
  for (auto& [id, ticket] : tickets_) {
    if (ticket.done || ticket.waiting.erase(address) == 0) continue;
    if (ok) {
      ++ticket.outcome.joined;
    } else {
      ticket.outcome.errors.push_back(address + ": " + error);
    }
    if (ticket.waiting.empty()) finished.push_back(id);
  }
  for (uint64_t id : finished) {
    auto it = tickets_.find(id);
    if (it != tickets_.end()) finish_ticket(id, it->second);
  }
}

void GossipAgent::finish_ticket(uint64_t id, Ticket& ticket) {
  ticket.done = true;
  if (ticket.then) {
    auto then = std::move(ticket.then);
    agent::JoinOutcome outcome = ticket.outcome;
    tickets_.erase(id);
    then(outcome);
    return;
  }
  watch_hub_.notify({agent::join_watch_key(id)});
}

std::optional<agent::JoinOutcome> GossipAgent::take_join_outcome(uint64_t ticket) {
  auto it = tickets_.find(ticket);
  if (it == tickets_.end() || !it->second.done) return std::nullopt;
  agent::JoinOutcome outcome = std::move(it->second.outcome);
  tickets_.erase(it);
  return outcome;
}

// Exponential backoff from 1s, capped at retry_interval. A node rejoining
// from its snapshot keeps trying: its peers may come back at any time.
void GossipAgent::retry_join(std::vector<std::string> addresses, int attempt, bool from_snapshot) {
  if (stopped_ || leaving_) return;
  join_then(addresses, [this, addresses, attempt, from_snapshot](const agent::JoinOutcome& outcome) {
    if (outcome.joined > 0) {
      spdlog::info("gossip: joined the pool through {} of {} {} address(es)", outcome.joined, addresses.size(),
                   from_snapshot ? "last-known peer" : "-retry-join");
      return;
    }
    const int attempts = attempt + 1;
    if (!from_snapshot && options_.retry_max > 0 && attempts >= options_.retry_max) {
      if (callbacks_.on_fatal) {
        callbacks_.on_fatal("-retry-join gave up after " + std::to_string(attempts) +
                            " attempt(s) (-retry-max): " + join_lines(outcome.errors));
      }
      return;
    }
    std::chrono::milliseconds delay = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstRetryDelay) *
                                      (int64_t{1} << std::min(attempt, 20));
    delay = std::min(delay, options_.retry_interval);
    spdlog::log(attempt == 0 ? spdlog::level::warn : spdlog::level::debug,
                "gossip: join attempt {} failed ({}); retrying in {} ms", attempts, join_lines(outcome.errors),
                delay.count());
    timers_->retry.expires_after(delay);
    timers_->retry.async_wait([this, addresses, attempts, from_snapshot](const boost::system::error_code& error) {
      if (error) return;
      retry_join(addresses, attempts, from_snapshot);
    });
  });
}

// ---- snapshot ----

void GossipAgent::schedule_snapshot() {
  if (stopped_) return;
  timers_->snapshot.expires_after(options_.snapshot_interval);
  timers_->snapshot.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    (void)save_snapshot(false);
    schedule_snapshot();
  });
}

Status GossipAgent::save_snapshot(bool forget_peers) {
  if (options_.data_dir.empty() || !transport_) return Status::ok();
  PeerSnapshot snapshot;
  snapshot.incarnation = std::max(transport_->swim().local_incarnation(), reserved_incarnation_);
  // After a graceful leave the node does not rejoin by itself (Consul's
  // rejoin_after_leave=false); an empty peer list records that.
  if (!forget_peers) {
    snapshot.peers = transport_->swim().known_peer_addresses();
    std::sort(snapshot.peers.begin(), snapshot.peers.end());
    // A node that lost every peer (a partition) keeps the last list it had,
    // so it can still rejoin by itself.
    if (snapshot.peers.empty()) snapshot.peers = saved_.peers.empty() && restored_ ? restored_->peers : saved_.peers;
  }
  if (snapshot == saved_) return Status::ok();
  if (Status status = save_peer_snapshot(path(kPeersFileName), snapshot); !status.is_ok()) {
    spdlog::warn("gossip: cannot save the peer list: {}", status.message());
    return status;
  }
  saved_ = std::move(snapshot);
  return Status::ok();
}

// ---- leave ----

void GossipAgent::start_leave() {
  if (leaving_ || stopped_) return;
  leaving_ = true;
  timers_->retry.cancel();
  spdlog::info("gossip: leaving the pool gracefully");
  transport_->leave();
  leave_deadline_ = clock_.now() + options_.leave_timeout;
  watch_leave();
}

// Swim needs its timers to get the broadcast out; wait for that, bounded.
void GossipAgent::watch_leave() {
  if (transport_->leave_propagated() || clock_.now() >= leave_deadline_) {
    if (!transport_->leave_propagated()) spdlog::warn("gossip: the leave did not reach every peer in time");
    leave_done_ = true;
    (void)save_snapshot(true);
    watch_hub_.notify({agent::kLeaveWatchKey});
    spdlog::info("gossip: left the pool");
    if (callbacks_.on_left) callbacks_.on_left();
    return;
  }
  timers_->leave.expires_after(kLeavePollInterval);
  timers_->leave.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    watch_leave();
  });
}

Status GossipAgent::force_leave(const std::string& node) {
  Status status = transport_->force_leave(node);
  if (status.is_ok()) spdlog::info("gossip: force-leave of node {}", node);
  return status;
}

// ---- keyring ----

std::vector<std::string> GossipAgent::keyring_keys() const {
  std::vector<std::string> keys;
  for (const std::string& key : transport_->keyring().list()) keys.push_back(wire::encode_key(key));
  return keys;
}

Status GossipAgent::change_keyring(const std::string& base64_key, Status (Transport::*change)(const std::string&),
                                   const char* verb) {
  auto raw = wire::decode_key(base64_key);
  if (!raw.is_ok()) return raw.status();
  if (Status changed = ((*transport_).*change)(*raw); !changed.is_ok()) return changed;
  spdlog::info("gossip: keyring: {} key {}...", verb, base64_key.substr(0, 6));
  if (!options_.data_dir.empty()) {
    if (Status saved = save_keyring_file(path(kKeyringFileName), transport_->keyring()); !saved.is_ok()) {
      spdlog::error("gossip: keyring changed but not saved: {}", saved.message());
      return saved;
    }
  }
  return Status::ok();
}

std::vector<Member> keyring_peers(std::vector<Member> members, const std::string& local_name) {
  // Suspect members are asked too (Serf counts them alive): one left out of
  // a -use could no longer read the pool, nor its own refutation, and would
  // be declared failed.
  std::erase_if(members, [&](const Member& member) {
    const bool reachable = member.state == MemberState::alive || member.state == MemberState::suspect;
    return member.name == local_name || !reachable;
  });
  return members;
}

Status GossipAgent::keyring_install(const std::string& key) { return change_keyring(key, &Transport::install_key, "installed"); }
Status GossipAgent::keyring_use(const std::string& key) { return change_keyring(key, &Transport::use_key, "now using"); }
Status GossipAgent::keyring_remove(const std::string& key) { return change_keyring(key, &Transport::remove_key, "removed"); }

KeyringReply GossipAgent::answer_keyring(const KeyringRequest& request) {
  KeyringReply reply;
  reply.node = transport_->swim().local_name();
  Status status;
  const std::string key = wire::encode_key(request.key);
  switch (request.op) {
    case KeyringOp::list:
      break;
    case KeyringOp::install:
      status = change_keyring(key, &Transport::install_key, "installed");
      break;
    case KeyringOp::use:
      status = change_keyring(key, &Transport::use_key, "now using");
      break;
    case KeyringOp::remove:
      status = change_keyring(key, &Transport::remove_key, "removed");
      break;
  }
  reply.ok = status.is_ok();
  reply.error = status.message();
  reply.keys = transport_->keyring().list();
  return reply;
}

Result<uint64_t> GossipAgent::start_keyring(agent::KeyringOperation op, const std::string& base64_key) {
  if (transport_->keyring().empty()) {
    return Status::unavailable("gossip encryption is not enabled on this agent; restart it with -encrypt to enable it");
  }
  KeyringRequest request{static_cast<KeyringOp>(op), {}};
  if (op != agent::KeyringOperation::list) {
    auto raw = wire::decode_key(base64_key);
    if (!raw.is_ok()) return raw.status();
    request.key = std::move(raw).value();
  }
  const uint64_t id = next_keyring_ticket_++;
  const Swim& swim = transport_->swim();
  const std::vector<Member> peers = keyring_peers(swim.members(), swim.local_name());
  KeyringTicket& ticket = keyring_tickets_[id];
  ticket.outcome.num_nodes = static_cast<int>(peers.size()) + 1;
  ticket.waiting = peers.size() + 1;
  if (op != agent::KeyringOperation::list) {
    spdlog::info("gossip: keyring: {} on {} member(s)", keyring_op_name(request.op), ticket.outcome.num_nodes);
  }
  // The requests are sealed before this agent applies the change, so a
  // peer that lacks a key we are about to -use can still read the request
  // and say so. Their answers arrive after our own.
  const std::string& local_name = swim.local_name();
  for (const Member& peer : peers) {
    transport_->keyring_request(peer.address, request,
                                [this, id, node = peer.name](Result<KeyringReply> answer) {
                                  record_keyring_answer(id, node, answer);
                                });
  }
  record_keyring_answer(id, local_name, answer_keyring(request));
  return id;
}

void GossipAgent::record_keyring_answer(uint64_t id, const std::string& node, const Result<KeyringReply>& answer) {
  auto it = keyring_tickets_.find(id);
  if (it == keyring_tickets_.end() || it->second.waiting == 0) return;
  KeyringTicket& ticket = it->second;
  agent::KeyringOutcome& outcome = ticket.outcome;
  if (!answer.is_ok()) {
    ++outcome.num_errors;
    outcome.messages[node] = answer.status().message();
  } else {
    ++outcome.num_responses;
    if (!answer->ok) {
      ++outcome.num_errors;
      outcome.messages[node] = answer->error;
    }
    for (const std::string& key : answer->keys) ++outcome.keys[wire::encode_key(key)];
    if (!answer->keys.empty()) ++outcome.primary_keys[wire::encode_key(answer->keys.front())];
  }
  if (--ticket.waiting == 0) watch_hub_.notify({agent::keyring_watch_key(id)});
}

std::optional<agent::KeyringOutcome> GossipAgent::take_keyring_outcome(uint64_t ticket) {
  auto it = keyring_tickets_.find(ticket);
  if (it == keyring_tickets_.end() || it->second.waiting > 0) return std::nullopt;
  agent::KeyringOutcome outcome = std::move(it->second.outcome);
  keyring_tickets_.erase(it);
  return outcome;
}

// ---- queries ----

std::vector<agent::MemberInfo> GossipAgent::members() const {
  std::vector<agent::MemberInfo> out;
  const std::string& local_name = transport_->swim().local_name();
  for (const Member& member : transport_->swim().members()) {
    if (member.name == local_name) {
      out.push_back(local_member());
    } else {
      out.push_back(to_info(member));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

agent::MemberInfo GossipAgent::local_member() const {
  agent::MemberInfo info = to_info(transport_->swim().local_member());
  if (leaving_ && !leave_done_) {
    info.status = agent::MemberStatus::leaving;
    info.state = "leaving";
  } else if (leaving_) {
    info.status = agent::MemberStatus::left;
    info.state = "left";
  }
  return info;
}

std::map<std::string, std::string> GossipAgent::stats() const {
  const Swim& swim = transport_->swim();
  std::map<std::string, std::string> out;
  size_t counts[4] = {0, 0, 0, 0};
  for (const Member& member : swim.members()) ++counts[static_cast<int>(member.state)];
  out["members"] = std::to_string(swim.members().size());
  out["alive"] = std::to_string(counts[static_cast<int>(MemberState::alive)]);
  out["suspect"] = std::to_string(counts[static_cast<int>(MemberState::suspect)]);
  out["failed"] = std::to_string(counts[static_cast<int>(MemberState::dead)]);
  out["left"] = std::to_string(counts[static_cast<int>(MemberState::left)]);
  out["health_score"] = std::to_string(swim.health_score());
  out["incarnation"] = std::to_string(swim.local_incarnation());
  out["encrypted"] = transport_->keyring().empty() ? "false" : "true";
  out["address"] = transport_->address();
  out["queued_broadcasts"] = std::to_string(swim.queued_broadcasts());
  const wire::WireCounters& wire = transport_->wire_counters();
  for (auto error : {wire::WireError::truncated, wire::WireError::garbage, wire::WireError::oversized,
                     wire::WireError::unknown_type, wire::WireError::wrong_key, wire::WireError::plain_refused,
                     wire::WireError::replayed}) {
    out[std::string("dropped_") + wire::wire_error_name(error)] = std::to_string(wire.get(error));
  }
  const SwimCounters& counters = swim.counters();
  out["probes"] = std::to_string(counters.probes);
  out["probe_failures"] = std::to_string(counters.probe_failures);
  out["refutations"] = std::to_string(counters.refutations);
  out["push_pulls"] = std::to_string(counters.push_pulls_started + counters.push_pulls_served);
  out["collisions"] = std::to_string(counters.collisions);
  out["incarnations_refused"] = std::to_string(counters.incarnations_refused);
  out["members_refused"] = std::to_string(counters.members_refused);
  out["unconfirmed_reaped"] = std::to_string(counters.unconfirmed_reaped);
  out["unconfirmed_evicted"] = std::to_string(counters.unconfirmed_evicted);
  out["event_time"] = std::to_string(swim.event_clock());  // Serf's name for the event clock
  out["user_events"] = std::to_string(counters.user_events);
  out["user_events_too_old"] = std::to_string(counters.user_events_too_old);
  out["user_events_refused"] = std::to_string(counters.user_events_refused);
  const TransportCounters& transport = transport_->counters();
  out["udp_packets_sent"] = std::to_string(transport.udp_packets_sent);
  out["udp_bytes_sent"] = std::to_string(transport.udp_bytes_sent);
  out["udp_packets_received"] = std::to_string(transport.udp_packets_received);
  out["udp_bytes_received"] = std::to_string(transport.udp_bytes_received);
  out["tcp_refused"] = std::to_string(transport.tcp_refused);
  out["tcp_first_frame_timeouts"] = std::to_string(transport.tcp_first_frame_timeouts);
  out["tcp_accept_errors"] = std::to_string(transport.tcp_accept_errors);
  return out;
}

void GossipAgent::collect_metrics(metrics::Snapshot& snapshot) const {
  if (!transport_) return;
  const Swim& swim = transport_->swim();
  double counts[4] = {0, 0, 0, 0};
  for (const Member& member : swim.members()) ++counts[static_cast<int>(member.state)];
  for (auto state : {MemberState::alive, MemberState::suspect, MemberState::dead, MemberState::left}) {
    snapshot.add_gauge("roster.gossip.members", "Members of the gossip pool this agent knows, by state.",
                       counts[static_cast<int>(state)], {{"state", member_state_name(state)}});
  }
  snapshot.add_gauge("roster.gossip.health_score",
                     "Lifeguard's local health score: 0 is healthy; higher means this agent is slow to answer probes.",
                     swim.health_score());
  snapshot.add_gauge("roster.gossip.incarnation", "This node's incarnation number.",
                     static_cast<double>(swim.local_incarnation()));
  snapshot.add_gauge("roster.gossip.queued_broadcasts", "Member updates waiting to be piggybacked on gossip.",
                     static_cast<double>(swim.queued_broadcasts()));

  const SwimCounters& swim_counters = swim.counters();
  auto counter = [&](const char* name, const char* help, uint64_t value, metrics::Labels labels = {}) {
    snapshot.add_counter(name, help, static_cast<double>(value), std::move(labels));
  };
  counter("roster.gossip.probes", "Probes of other members started.", swim_counters.probes);
  counter("roster.gossip.probe_failures", "Probes that ended with the member suspected.", swim_counters.probe_failures);
  counter("roster.gossip.indirect_probes", "Indirect probes asked of other members.", swim_counters.indirect_probes);
  counter("roster.gossip.tcp_probes", "Fallback probes over TCP.", swim_counters.tcp_probes);
  counter("roster.gossip.acks_received", "Probe acks received.", swim_counters.acks_received);
  counter("roster.gossip.nacks_received", "Indirect probe nacks received.", swim_counters.nacks_received);
  counter("roster.gossip.refutations", "Times this node refuted a suspicion of itself.", swim_counters.refutations);
  counter("roster.gossip.messages_sent", "Gossip messages sent (several may share a packet).",
          swim_counters.messages_sent);
  counter("roster.gossip.push_pulls", "Full state exchanges over TCP, by who started them.",
          swim_counters.push_pulls_started, {{"direction", "started"}});
  counter("roster.gossip.push_pulls", "", swim_counters.push_pulls_served, {{"direction", "served"}});
  counter("roster.gossip.collisions", "Other nodes seen claiming this node's name or ID.", swim_counters.collisions);
  counter("roster.gossip.misdirected_pings", "Pings received for another node name.", swim_counters.misdirected_pings);
  counter("roster.gossip.incarnations_refused", "Incarnation claims refused as too far ahead.",
          swim_counters.incarnations_refused);
  counter("roster.gossip.members_refused", "New members refused because the member table was full.",
          swim_counters.members_refused);
  counter("roster.gossip.unconfirmed_reaped", "Failed members never confirmed, reaped early.",
          swim_counters.unconfirmed_reaped);
  counter("roster.gossip.unconfirmed_evicted", "Unconfirmed members dropped from a full table for a newcomer.",
          swim_counters.unconfirmed_evicted);

  const TransportCounters& transport = transport_->counters();
  counter("roster.gossip.udp_packets", "UDP gossip packets, by direction.", transport.udp_packets_sent,
          {{"direction", "sent"}});
  counter("roster.gossip.udp_packets", "", transport.udp_packets_received, {{"direction", "received"}});
  counter("roster.gossip.udp_bytes", "UDP gossip bytes, by direction.", transport.udp_bytes_sent,
          {{"direction", "sent"}});
  counter("roster.gossip.udp_bytes", "", transport.udp_bytes_received, {{"direction", "received"}});
  counter("roster.gossip.tcp_accepted", "Gossip TCP connections accepted.", transport.tcp_accepted);
  counter("roster.gossip.tcp_refused", "Gossip TCP connections refused over the connection limits.",
          transport.tcp_refused);
  counter("roster.gossip.tcp_first_frame_timeouts", "Gossip TCP connections closed for a slow first frame.",
          transport.tcp_first_frame_timeouts);
  counter("roster.gossip.tcp_accept_errors", "Failed accepts on the gossip TCP port.", transport.tcp_accept_errors);
  counter("roster.gossip.tcp_failed", "Outgoing gossip TCP exchanges that failed or timed out.", transport.tcp_failed);
  counter("roster.gossip.send_errors", "Gossip packets the socket refused to send.", transport.send_errors);

  const wire::WireCounters& wire = transport_->wire_counters();
  for (auto error : {wire::WireError::truncated, wire::WireError::garbage, wire::WireError::oversized,
                     wire::WireError::unknown_type, wire::WireError::wrong_key, wire::WireError::plain_refused,
                     wire::WireError::replayed}) {
    counter("roster.gossip.dropped", "Gossip packets and frames dropped unread, by reason.", wire.get(error),
            {{"reason", wire::wire_error_name(error)}});
  }
}

Status GossipAgent::fire_user_event(const agent::UserEventInfo& event) {
  if (!transport_ || stopped_) return Status::unavailable("gossip is not running on this agent");
  UserEvent gossiped{0, event.name, event.payload, event.id, event.node_filter, event.service_filter, event.tag_filter};
  Result<LamportTime> fired = transport_->fire_user_event(std::move(gossiped));
  if (!fired.is_ok()) return fired.status();
  spdlog::info("gossip: fired user event {} (ID {}, Lamport time {})", event.name, event.id, *fired);
  return Status::ok();
}

void GossipAgent::set_user_event_handler(std::function<void(const agent::UserEventInfo&)> handler) {
  user_event_handler_ = std::move(handler);
}

void GossipAgent::set_server_info(std::string server_info) {
  if (options_.server_info == server_info) return;
  options_.server_info = std::move(server_info);
  if (!transport_ || stopped_) return;
  TagMap current = transport_->swim().local_member().tags;
  std::map<std::string, std::string> tags;
  for (const auto& [key, value] : current) {
    if (key.empty() || key.front() != '\x01') tags.emplace(key, value);
  }
  set_local_tags(tags);
}

void GossipAgent::set_local_tags(const std::map<std::string, std::string>& tags) {
  if (!transport_ || stopped_) return;
  TagMap gossiped = with_reserved_keys(tags);
  if (transport_->swim().local_member().tags == gossiped) return;
  if (Status status = transport_->set_tags(std::move(gossiped)); !status.is_ok()) {
    spdlog::warn("gossip: this node's tags were not spread: {}", status.message());
  }
}

TagMap GossipAgent::with_reserved_keys(const std::map<std::string, std::string>& tags) const {
  TagMap out;
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.front() != '\x01') out.emplace(key, value);
  }
  if (options_.server) out[kServerTagKey] = options_.server_info.empty() ? "1" : options_.server_info;
  if (!options_.http_address.empty()) out[kHttpAddressTagKey] = options_.http_address;
  return out;
}

}  // namespace roster::gossip
