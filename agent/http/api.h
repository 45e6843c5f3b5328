#pragma once

// The Consul-compatible HTTP API as a function from request to response.
//
// Routing and handlers never see a socket: the server adapter parses a
// request, calls handle(), and writes what comes back. A blocking query whose
// data has not moved past ?index= comes back as a BlockingWait instead; the
// adapter waits on the watch hub for those keys (or the deadline) and calls
// handle() again with the same BlockingState.
//
// Thread affinity: the agent core's thread, like AgentCore itself.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/catalog/types.h"
#include "agent/http/http_types.h"
#include "common/status.h"

namespace roster::agent {
class AgentCore;
class RaftCatalog;
}

namespace roster::metrics {
class Registry;
}

namespace roster::http {

// Hands a request's answer over once it is known.
using Respond = std::function<void(HttpResponse)>;

struct ApiOptions {
  size_t max_kv_value_bytes = 512 * 1024;  // Consul's limit
  // Consul's txn_max_req_len: a /v1/txn body, all operations together. The
  // larger of this and max_kv_value_bytes applies, as in Consul.
  size_t max_txn_bytes = 512 * 1024;
  size_t max_key_bytes = 2048;
  std::chrono::nanoseconds default_wait{std::chrono::minutes(5)};
  std::chrono::nanoseconds max_wait{std::chrono::minutes(10)};
  std::string version = "0.1.0";
  // More sections for /v1/agent/self's Stats (and so `roster info`), such as
  // the connection limits in force, from parts of the agent the API does not
  // know. Called on the core's thread at each request.
  std::function<std::map<std::string, std::map<std::string, std::string>>()> extra_stats;
  // What /v1/agent/metrics reports besides the catalog's own series: the
  // registry's instruments and collectors, collected on the core's thread.
  // Not owned; must outlive the Api. Null: only the catalog's series.
  metrics::Registry* metrics = nullptr;
  // Restarts a session's TTL: the leader's SessionTimers, or not_leader on a
  // server that does not lead. Null: renewals answer 500.
  std::function<Result<catalog::Session>(const std::string& id)> renew_session;
  // Sends a catalog request this agent cannot answer to a server that can:
  // the leader (to_leader), or any server (a client agent). The answer comes
  // back through `respond`, within `timeout`. Null: everything is answered
  // here (-dev).
  std::function<void(const HttpRequest& request, bool to_leader, std::chrono::milliseconds timeout, Respond respond)>
      forward;
  // A server's Raft side, for /v1/operator. Not owned; outlives the Api.
  // Null on -dev (answered as a single dev server) and on client agents
  // (they forward those routes to a server).
  agent::RaftCatalog* raft_catalog = nullptr;
};

// Carried across the calls of one blocking query.
struct BlockingState {
  bool deadline_set = false;
  std::chrono::steady_clock::time_point deadline;
  bool expired = false;  // set by the adapter when the deadline passed
  uint64_t operation = 0;  // a long operation the handler started (a gossip join), 0: none
  uint64_t pending = 0;    // a write (or forwarded call) the request waits for, 0: none
  bool read_confirmed = false;  // a ?consistent read's leadership check passed
};

// A forwarded request names its hops here, so it is forwarded at most
// kMaxForwardHops times (client -> follower -> leader), never in a loop.
inline constexpr const char* kForwardHopsHeaderName = "x-roster-forward-hops";
inline constexpr uint32_t kMaxForwardHops = 2;

struct BlockingWait {
  std::vector<std::string> watch_keys;
  std::chrono::steady_clock::time_point deadline;
};

struct HandleResult {
  HttpResponse response;
  std::optional<BlockingWait> wait;  // when set, `response` is unused
};

// The endpoint family a path belongs to, as Consul labels its HTTP metrics:
// the route's path with dots for slashes and "_" for the argument
// ("/v1/kv/a/b" -> "v1.kv._", "/v1/agent/self" -> "v1.agent.self"), or
// "unknown" for a path no route takes. A handful of values whatever the
// clients send, so it is safe as a metric label.
std::string_view route_label(std::string_view path);

// Answers of requests parked on a write: the write's callback leaves the
// response here and wakes the request, whose next handle() takes it. An
// answer nobody takes (the client went away) is dropped after a while.
class PendingResponses {
 public:
  static std::string watch_key(uint64_t ticket) { return "api/pending/" + std::to_string(ticket); }
  uint64_t open(std::chrono::steady_clock::time_point now);
  // Leaves `response` for `ticket` (once; later calls are ignored). Returns
  // false when the ticket was abandoned or is unknown.
  bool fill(uint64_t ticket, HttpResponse response, std::chrono::steady_clock::time_point now);
  std::optional<HttpResponse> take(uint64_t ticket);
  void abandon(uint64_t ticket);
  size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    std::optional<HttpResponse> response;
    std::chrono::steady_clock::time_point filled_at;
  };
  uint64_t next_ = 1;
  std::map<uint64_t, Slot> slots_;
};

class Api {
 public:
  Api(agent::AgentCore& core, ApiOptions options = {});
  HandleResult handle(const HttpRequest& request, BlockingState& blocking);

  // The largest request body the adapter should accept at all.
  size_t max_body_bytes() const {
    return std::max(options_.max_kv_value_bytes, options_.max_txn_bytes) + 64 * 1024;
  }

  // The catalog's last applied index. Two identical blocking reads answered
  // at the same data index get the same response, so the adapter may reuse it.
  uint64_t data_index() const;

 private:
  struct Impl;
  HandleResult forward_request(struct Context& context, bool have_replica);
  agent::AgentCore& core_;
  ApiOptions options_;
  PendingResponses pending_;
  uint64_t jitter_state_ = 0x9E3779B97F4A7C15ULL;
};

}  // namespace roster::http
