#include "agent/http/api.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "agent/http/api_internal.h"
#include "common/base64.h"
#include "common/duration.h"

namespace roster::http {

namespace {

enum Method : unsigned { kGet = 1, kPut = 2, kPost = 4, kDelete = 8 };

// Where a route is answered.
enum class Scope : uint8_t {
  agent,    // this agent's own state: always here
  catalog,  // the catalog: by a server, the leader unless ?stale (see Api::handle)
  raft,     // a server's own Raft view (/v1/status, /v1/operator): reads here on a server, changes
            // (remove-peer, transfer-leader) on the leader; forwarded from a client
};

struct Route {
  std::string_view prefix;
  bool takes_suffix;  // the prefix ends in '/' and the rest of the path is an argument
  unsigned methods;
  HandleResult (*handler)(Context&);
  Scope scope = Scope::agent;
};

// GET is accepted on the legacy agent endpoints python-consul 0.7.1 calls with it.
constexpr std::array kRoutes = {
    Route{"/v1/kv/", true, kGet | kPut | kPost | kDelete, handle_kv, Scope::catalog},
    Route{"/v1/txn", false, kPut, handle_txn, Scope::catalog},
    Route{"/v1/catalog/register", false, kPut | kPost, handle_catalog_register, Scope::catalog},
    Route{"/v1/catalog/deregister", false, kPut | kPost, handle_catalog_deregister, Scope::catalog},
    Route{"/v1/catalog/datacenters", false, kGet, handle_catalog_datacenters},
    Route{"/v1/catalog/nodes", false, kGet, handle_catalog_nodes, Scope::catalog},
    Route{"/v1/catalog/services", false, kGet, handle_catalog_services, Scope::catalog},
    Route{"/v1/catalog/service/", true, kGet, handle_catalog_service, Scope::catalog},
    Route{"/v1/catalog/node/", true, kGet, handle_catalog_node, Scope::catalog},
    Route{"/v1/health/service/", true, kGet, handle_health_service, Scope::catalog},
    Route{"/v1/health/checks/", true, kGet, handle_health_checks, Scope::catalog},
    Route{"/v1/health/node/", true, kGet, handle_health_node, Scope::catalog},
    Route{"/v1/health/state/", true, kGet, handle_health_state, Scope::catalog},
    Route{"/v1/agent/self", false, kGet, handle_agent_self},
    Route{"/v1/agent/metrics", false, kGet, handle_agent_metrics},
    Route{"/v1/agent/members", false, kGet, handle_gossip_members},
    Route{"/v1/agent/join/", true, kGet | kPut | kPost, handle_agent_join},
    Route{"/v1/agent/leave", false, kGet | kPut | kPost, handle_agent_leave},
    Route{"/v1/agent/force-leave/", true, kGet | kPut | kPost, handle_agent_force_leave},
    Route{"/v1/operator/keyring", false, kGet | kPut | kPost | kDelete, handle_operator_keyring},
    Route{"/v1/agent/services", false, kGet, handle_agent_services},
    Route{"/v1/agent/checks", false, kGet, handle_agent_checks},
    Route{"/v1/agent/service/register", false, kPut | kPost, handle_agent_service_register},
    Route{"/v1/agent/service/deregister/", true, kGet | kPut | kPost, handle_agent_service_deregister},
    Route{"/v1/agent/service/maintenance/", true, kPut | kPost, handle_agent_service_maintenance},
    Route{"/v1/agent/check/register", false, kPut | kPost, handle_agent_check_register},
    Route{"/v1/agent/check/deregister/", true, kGet | kPut | kPost, handle_agent_check_deregister},
    Route{"/v1/agent/check/pass/", true, kGet | kPut | kPost, handle_agent_check_pass},
    Route{"/v1/agent/check/warn/", true, kGet | kPut | kPost, handle_agent_check_warn},
    Route{"/v1/agent/check/fail/", true, kGet | kPut | kPost, handle_agent_check_fail},
    Route{"/v1/agent/check/update/", true, kPut | kPost, handle_agent_check_update},
    Route{"/v1/agent/maintenance", false, kPut | kPost, handle_agent_maintenance},
    Route{"/v1/session/create", false, kPut | kPost, handle_session_create, Scope::catalog},
    Route{"/v1/session/destroy/", true, kPut | kPost, handle_session_destroy, Scope::catalog},
    Route{"/v1/session/renew/", true, kPut | kPost, handle_session_renew, Scope::catalog},
    Route{"/v1/session/info/", true, kGet, handle_session_info, Scope::catalog},
    Route{"/v1/session/list", false, kGet, handle_session_list, Scope::catalog},
    Route{"/v1/session/node/", true, kGet, handle_session_node, Scope::catalog},
    Route{"/v1/status/leader", false, kGet, handle_status_leader, Scope::raft},
    Route{"/v1/status/peers", false, kGet, handle_status_peers, Scope::raft},
    Route{"/v1/operator/raft/configuration", false, kGet, handle_operator_raft_configuration, Scope::raft},
    Route{"/v1/operator/raft/peer", false, kDelete, handle_operator_raft_peer, Scope::raft},
    Route{"/v1/operator/raft/transfer-leader", false, kPost | kPut, handle_operator_raft_transfer_leader, Scope::raft},
    Route{"/v1/operator/autopilot/health", false, kGet, handle_operator_autopilot_health, Scope::raft},
    Route{"/v1/snapshot", false, kGet | kPut, handle_snapshot, Scope::catalog},
    Route{"/v1/roster/node/", true, kGet | kPut | kPost, handle_roster_node_tags, Scope::catalog},
    Route{"/v1/roster/deploy/runs", false, kGet, handle_deploy_runs, Scope::catalog},
    Route{"/v1/roster/deploy/runs/", true, kGet, handle_deploy_run, Scope::catalog},
    Route{"/v1/roster/deploy/nodes", false, kGet, handle_deploy_nodes, Scope::catalog},
    Route{"/v1/roster/deploy/nodes/", true, kGet, handle_deploy_node, Scope::catalog},
    Route{"/v1/roster/inventory", false, kGet, handle_inventory, Scope::catalog},
    Route{"/v1/event/fire/", true, kPut, handle_event_fire},
    Route{"/v1/event/list", false, kGet, handle_event_list},
};

const Route* find_route(std::string_view path) {
  for (const Route& route : kRoutes) {
    bool matches = route.takes_suffix ? path.starts_with(route.prefix) : path == route.prefix;
    if (!matches && route.takes_suffix && path.size() + 1 == route.prefix.size() &&
        route.prefix.starts_with(path) && route.prefix == "/v1/kv/") {
      matches = true;  // GET /v1/kv with no key lists from the root
    }
    if (matches) return &route;
  }
  return nullptr;
}

// route_label() for every route, made once: "/v1/kv/" -> "v1.kv._".
const std::array<std::string, kRoutes.size()>& route_labels() {
  static const auto labels = [] {
    std::array<std::string, kRoutes.size()> out;
    for (size_t i = 0; i < kRoutes.size(); ++i) {
      std::string_view prefix = kRoutes[i].prefix.substr(1);
      std::string label;
      for (char c : prefix) label.push_back(c == '/' ? '.' : c);
      if (kRoutes[i].takes_suffix) label.push_back('_');
      out[i] = std::move(label);
    }
    return out;
  }();
  return labels;
}

unsigned method_bit(const std::string& method) {
  if (method == "GET" || method == "HEAD") return kGet;
  if (method == "PUT") return kPut;
  if (method == "POST") return kPost;
  if (method == "DELETE") return kDelete;
  return 0;
}

}  // namespace

std::string_view route_label(std::string_view path) {
  const Route* route = find_route(path);
  if (route == nullptr) return "unknown";
  return route_labels()[static_cast<size_t>(route - kRoutes.data())];
}

Api::Api(agent::AgentCore& core, ApiOptions options) : core_(core), options_(std::move(options)) {}

HandleResult Api::forward_request(Context& context, bool have_replica) {
  const HttpRequest& request = context.request;
  uint32_t hops = 0;
  if (auto text = request.header(kForwardHopsHeaderName)) {
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), hops);
    if (error != std::errc() || end != text->data() + text->size()) hops = 0;
  }
  if (hops >= kMaxForwardHops) return respond_error(503, "No cluster leader");
  HttpRequest forwarded = request;
  forwarded.headers[kForwardHopsHeaderName] = std::to_string(hops + 1);
  // What the receiving agent fills in from itself must be this agent's, not
  // the server's: a session made through a client agent belongs to its node,
  // as in Consul (whose agent sets Session.Node before its RPC).
  if (request.path == "/v1/session/create" && hops == 0) {
    auto body = parse_json_body(request, /*allow_empty=*/true);
    if (!body.is_ok()) return respond_status(body.status());
    if (const json* node = field(*body, "Node"); node == nullptr || node->is_null() ||
                                                 (node->is_string() && node->get<std::string>().empty())) {
      (*body)["Node"] = core_.identity().name;
      forwarded.body = dump_json(*body);
    }
  }
  // A forwarded blocking query waits on the server: this side waits as long,
  // plus room for the write path.
  auto wait = options_.default_wait;
  if (auto text = request.param("wait"); text && !text->empty()) {
    if (auto parsed = parse_go_duration(*text); parsed.is_ok() && parsed->count() > 0) wait = *parsed;
  }
  wait = std::min(wait, options_.max_wait);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(wait + wait / 16) + kWriteWait;
  return run_async(
      context,
      [forward = options_.forward, forwarded = std::move(forwarded), have_replica, timeout](Respond respond_with) {
        forward(forwarded, /*to_leader=*/have_replica, timeout, std::move(respond_with));
      },
      timeout);
}

namespace {
// An answer left for a client that went away is kept this long past kWriteWait.
constexpr auto kPendingKeep = std::chrono::minutes(1);

catalog::Index catalog_index(const agent::AgentCore& core) {
  const catalog::StateStore* store = core.catalog().replica();
  return store != nullptr ? store->last_index() : 0;
}
}  // namespace

uint64_t Api::data_index() const { return catalog_index(core_); }

uint64_t PendingResponses::open(std::chrono::steady_clock::time_point now) {
  std::erase_if(slots_, [now](const auto& entry) {
    return entry.second.response.has_value() && now - entry.second.filled_at > kPendingKeep;
  });
  const uint64_t ticket = next_++;
  slots_.emplace(ticket, Slot{});
  return ticket;
}

bool PendingResponses::fill(uint64_t ticket, HttpResponse response, std::chrono::steady_clock::time_point now) {
  auto slot = slots_.find(ticket);
  if (slot == slots_.end() || slot->second.response.has_value()) return false;
  slot->second.response = std::move(response);
  slot->second.filled_at = now;
  return true;
}

std::optional<HttpResponse> PendingResponses::take(uint64_t ticket) {
  auto slot = slots_.find(ticket);
  if (slot == slots_.end() || !slot->second.response.has_value()) return std::nullopt;
  std::optional<HttpResponse> response = std::move(slot->second.response);
  slots_.erase(slot);
  return response;
}

void PendingResponses::abandon(uint64_t ticket) { slots_.erase(ticket); }

HandleResult Api::handle(const HttpRequest& request, BlockingState& blocking) {
  // RFC 9112 3.2 requires Host on HTTP/1.1, and Go's server (so Consul)
  // refuses a request without one before any handler sees it. An empty value
  // is allowed.
  if (request.version >= 11 && request.headers.find("host") == request.headers.end()) {
    return respond_error(400, "missing required Host header");
  }
  if (blocking.pending != 0) {
    // A request parked on its write: the answer, or more waiting.
    if (auto response = pending_.take(blocking.pending)) {
      if (response->status != kProceed) return respond(std::move(*response));
      // A ?consistent read whose leadership check passed: serve it now.
      blocking.pending = 0;
      blocking.deadline_set = false;
      blocking.read_confirmed = true;
      return handle(request, blocking);
    }
    if (blocking.expired || core_.clock().now() >= blocking.deadline) {
      pending_.abandon(blocking.pending);
      return respond_error(503, "timed out waiting for the write to be committed; it may still be applied");
    }
    return HandleResult{HttpResponse{}, BlockingWait{{PendingResponses::watch_key(blocking.pending)}, blocking.deadline}};
  }
  const Route* matched = find_route(request.path);
  if (matched == nullptr) {
    return respond(with_index_headers(
        HttpResponse::error(404, "Invalid URL path: not a recognized HTTP API endpoint: " + request.path),
        catalog_index(core_)));
  }
  if ((method_bit(request.method) & matched->methods) == 0) {
    HttpResponse response = HttpResponse::error(405, "method " + request.method + " not allowed");
    std::string allowed;
    for (auto [bit, name] : {std::pair{kGet, "GET"}, {kPut, "PUT"}, {kPost, "POST"}, {kDelete, "DELETE"}}) {
      if (matched->methods & bit) allowed += allowed.empty() ? name : std::string(", ") + name;
    }
    response.headers.emplace_back("Allow", allowed);
    return respond(std::move(response));
  }
  if (auto dc = request.param("dc"); dc && !dc->empty() && *dc != core_.identity().datacenter) {
    return respond_error(500, "No path to datacenter");
  }
  // Consul parses a read's query options before it looks at any data, so a
  // malformed wait or index is a 400 even when the index has already passed.
  if (method_bit(request.method) == kGet && !blocking.deadline_set && !blocking.expired) {
    // Empty values are ignored, as in Consul.
    if (auto wait = request.param("wait"); wait && !wait->empty()) {
      if (auto parsed = parse_go_duration(*wait); !parsed.is_ok()) {
        return respond_error(400, "Invalid wait time: " + parsed.status().message());
      }
    }
    if (auto index = request.param("index"); index && !index->empty()) {
      uint64_t wanted = 0;
      auto [end, error] = std::from_chars(index->data(), index->data() + index->size(), wanted);
      if (error != std::errc() || end != index->data() + index->size()) {
        return respond_error(400, "Invalid index \"" + *index + "\": must be an unsigned integer");
      }
    }
  }
  Context context{core_, options_, request, blocking, jitter_state_, pending_, ""};
  if (matched->takes_suffix && request.path.size() > matched->prefix.size()) {
    context.rest = request.path.substr(matched->prefix.size());
  }
  const bool read = method_bit(request.method) == kGet;
  const char* effective_consistency = "leader";
  if (matched->scope != Scope::agent) {
    agent::CatalogBackend& catalog = core_.catalog();
    const bool stale = read && request.flag("stale");
    const bool consistent = read && request.flag("consistent");
    if (stale && consistent) return respond_error(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
    std::optional<std::chrono::nanoseconds> max_stale;
    if (auto text = request.param("max_stale"); read && text && !text->empty()) {
      auto parsed = parse_go_duration(*text);
      if (!parsed.is_ok()) return respond_error(400, "Invalid max_stale: " + parsed.status().message());
      max_stale = *parsed;
    }
    const bool have_replica = catalog.replica() != nullptr;
    // A client agent sends every catalog request to a server; a follower
    // sends writes and leader reads to the leader, as Consul's servers do.
    bool forward = !have_replica;
    if (have_replica && matched->scope == Scope::catalog && !catalog.is_leader()) {
      forward = !stale || (max_stale && catalog.freshness().last_contact > *max_stale);
    }
    // Only the leader can change the Raft configuration or hand leadership on.
    if (have_replica && matched->scope == Scope::raft && !read && !catalog.is_leader()) forward = true;
    if (forward && options_.forward) return forward_request(context, have_replica);
    if (!forward && consistent && !blocking.read_confirmed) {
      // ReadIndex: the leader confirms with a quorum that it still leads.
      return run_async(context, [&catalog](Respond respond_with) {
        catalog.prepare_read(agent::Consistency::consistent, std::nullopt, [respond_with](Status status) {
          HttpResponse proceed;
          proceed.status = kProceed;
          respond_with(status.is_ok() ? proceed : status_answer(status));
        });
      });
    }
    if (stale) effective_consistency = "stale";
    if (consistent) effective_consistency = "consistent";
  }
  HandleResult result = matched->handler(context);
  if (!result.wait && read && matched->scope == Scope::catalog) {
    // Headers with what this server knows, replacing the defaults.
    const agent::ReadFreshness freshness = core_.catalog().freshness();
    for (auto& [name, value] : result.response.headers) {
      if (name == "X-Consul-KnownLeader") value = freshness.known_leader ? "true" : "false";
      if (name == "X-Consul-LastContact") value = std::to_string(freshness.last_contact.count());
    }
    result.response.headers.emplace_back("X-Consul-Effective-Consistency", effective_consistency);
  }
  // Every read carries the index headers, errors included, so clients that
  // track X-Consul-Index never see it missing.
  if (!result.wait && method_bit(request.method) == kGet) {
    bool has_index = std::any_of(result.response.headers.begin(), result.response.headers.end(),
                                 [](const auto& header) { return header.first == "X-Consul-Index"; });
    if (!has_index) result.response = with_index_headers(std::move(result.response), catalog_index(core_));
  }
  return result;
}

// ---- shared helpers ----

HandleResult run_async(Context& context, std::function<void(Respond)> work, std::chrono::milliseconds timeout) {
  agent::AgentCore& core = context.core;
  PendingResponses& pending = context.pending;
  const uint64_t ticket = pending.open(core.clock().now());
  // The Api (and so `pending`) lives as long as the agent's HTTP server,
  // which outlives every write it started.
  work([&core, &pending, ticket](HttpResponse response) {
    if (pending.fill(ticket, std::move(response), core.clock().now())) {
      core.watch_hub().notify({PendingResponses::watch_key(ticket)});
    }
  });
  if (auto response = pending.take(ticket)) return respond(std::move(*response));
  context.blocking.pending = ticket;
  context.blocking.deadline = core.clock().now() + timeout;
  context.blocking.deadline_set = true;
  return HandleResult{HttpResponse{}, BlockingWait{{PendingResponses::watch_key(ticket)}, context.blocking.deadline}};
}

HandleResult write_and_respond(Context& context, catalog::CommandBody body,
                               std::function<HttpResponse(Result<catalog::Index>)> make) {
  return run_async(context, [&core = context.core, body = std::move(body), make = std::move(make)](
                                Respond respond_with) mutable {
    core.catalog().write(std::move(body), [respond_with = std::move(respond_with), make = std::move(make)](
                                              Result<catalog::Index> result) { respond_with(make(result)); });
  });
}

HttpResponse bool_answer(const Result<catalog::Index>& result, bool conflict_is_false) {
  if (result.is_ok()) return HttpResponse::json(200, "true");
  if (conflict_is_false && result.status().code() == StatusCode::conflict) return HttpResponse::json(200, "false");
  return status_answer(result.status());
}

HttpResponse with_index_headers(HttpResponse response, catalog::Index index) {
  response.headers.emplace_back("X-Consul-Index", std::to_string(std::max<catalog::Index>(index, 1)));
  response.headers.emplace_back("X-Consul-KnownLeader", "true");
  response.headers.emplace_back("X-Consul-LastContact", "0");
  return response;
}

HandleResult respond(HttpResponse response) { return HandleResult{std::move(response), std::nullopt}; }

// Text that reached the store from a URL (a key, a check note) is not
// guaranteed to be UTF-8; dump() would throw on it. Replace bad bytes with
// U+FFFD instead of failing the request (or, uncaught, the agent).
std::string dump_json(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

HandleResult respond_json(const json& body, int status) {
  return respond(HttpResponse::json(status, dump_json(body)));
}

HandleResult respond_bool(bool value) { return respond(HttpResponse::json(200, value ? "true" : "false")); }

HandleResult respond_error(int status, std::string message) {
  return respond(HttpResponse::error(status, std::move(message)));
}

HandleResult respond_status(const Status& status) { return respond(status_answer(status)); }

HttpResponse status_answer(const Status& status) {
  int code = 500;
  switch (status.code()) {
    case StatusCode::ok: code = 200; break;
    case StatusCode::invalid_argument: code = 400; break;
    case StatusCode::not_found: code = 404; break;
    case StatusCode::conflict: code = 409; break;
    case StatusCode::permission_denied: code = 403; break;
    case StatusCode::too_large: code = 413; break;
    case StatusCode::unavailable: code = 503; break;
    case StatusCode::internal: code = 500; break;
    case StatusCode::not_leader: code = 503; break;  // only when no leader took the request in time
  }
  return HttpResponse::error(code, status.message());
}

Status start_blocking(Context& context) {
  if (context.blocking.deadline_set) return Status::ok();
  auto wait = context.options.default_wait;
  if (auto wait_param = context.request.param("wait"); wait_param && !wait_param->empty()) {
    auto parsed = parse_go_duration(*wait_param);
    if (!parsed.is_ok()) return Status::invalid_argument("Invalid wait time: " + parsed.status().message());
    if (parsed->count() > 0) wait = *parsed;
  }
  wait = std::min(wait, context.options.max_wait);
  // Jitter of up to wait/16 spreads out the herd of clients that would
  // otherwise all come back at the same instant (as Consul does).
  uint64_t& state = context.jitter_state;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  auto jitter_range = static_cast<uint64_t>(wait.count() / 16);
  auto jitter = std::chrono::nanoseconds(jitter_range == 0 ? 0 : static_cast<int64_t>(state % jitter_range));
  context.blocking.deadline =
      context.core.clock().now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait + jitter);
  context.blocking.deadline_set = true;
  return Status::ok();
}

HandleResult finish_read(Context& context, catalog::Index index, const catalog::WatchKeys& watch, int status,
                         std::string body) {
  index = std::max<catalog::Index>(index, 1);
  auto index_param = context.request.param("index");
  if (index_param && index_param->empty()) index_param.reset();
  if (index_param && !context.blocking.expired) {
    uint64_t wanted = 0;
    const std::string& text = *index_param;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), wanted);
    if (error != std::errc() || end != text.data() + text.size()) {
      return respond_error(400, "Invalid index \"" + text + "\": must be an unsigned integer");
    }
    if (wanted > 0 && index <= wanted) {
      if (Status started = start_blocking(context); !started.is_ok()) return respond_status(started);
      if (context.core.clock().now() < context.blocking.deadline) {
        return HandleResult{HttpResponse{}, BlockingWait{std::vector<std::string>(watch.begin(), watch.end()),
                                                         context.blocking.deadline}};
      }
    }
  } else if (auto wait_param = context.request.param("wait");
             wait_param && !wait_param->empty() && !context.blocking.expired) {
    auto parsed = parse_go_duration(*wait_param);
    if (!parsed.is_ok()) return respond_error(400, "Invalid wait time: " + parsed.status().message());
  }
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  if (status == 404) response.content_type = "text/plain; charset=utf-8";
  return respond(with_index_headers(std::move(response), index));
}

HandleResult finish_read(Context& context, catalog::Index index, const catalog::WatchKeys& watch, const json& body) {
  return finish_read(context, index, watch, 200, dump_json(body));
}

Result<json> parse_json_body(const HttpRequest& request, bool allow_empty) {
  bool blank = std::all_of(request.body.begin(), request.body.end(),
                           [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
  if (blank) {
    if (allow_empty) return json::object();
    return Status::invalid_argument("Request decode failed: empty body");
  }
  json document = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Status::invalid_argument("Request decode failed: malformed JSON");
  if (!document.is_object()) return Status::invalid_argument("Request decode failed: expected a JSON object");
  return document;
}

const json* field(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  auto exact = object.find(name);
  if (exact != object.end()) return &*exact;
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return &*it;
    }
  }
  return nullptr;
}

Result<std::string> string_field(const json& object, std::string_view name) {
  const json* value = field(object, name);
  if (value == nullptr || value->is_null()) return std::string();
  if (!value->is_string()) return Status::invalid_argument("Request decode failed: " + std::string(name) + " must be a string");
  return value->get<std::string>();
}

Result<std::chrono::nanoseconds> duration_field(const json& object, std::string_view name,
                                                std::chrono::nanoseconds fallback) {
  const json* value = field(object, name);
  if (value == nullptr || value->is_null()) return fallback;
  if (value->is_number_integer() || value->is_number_unsigned()) {
    auto count = value->get<int64_t>();
    if (count < 0) return Status::invalid_argument(std::string(name) + " must not be negative");
    return std::chrono::nanoseconds(count);
  }
  if (!value->is_string()) return Status::invalid_argument(std::string(name) + " must be a duration such as \"10s\"");
  auto text = value->get<std::string>();
  if (text.empty()) return fallback;
  auto parsed = parse_go_duration(text);
  if (!parsed.is_ok()) return Status::invalid_argument("invalid " + std::string(name) + ": " + parsed.status().message());
  return *parsed;
}

Result<catalog::TagMap> node_meta_filter(const HttpRequest& request) {
  catalog::TagMap filter;
  for (const auto& pair : request.params("node-meta")) {
    auto colon = pair.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::invalid_argument("Invalid node-meta filter \"" + pair + "\": expected key:value");
    }
    filter[pair.substr(0, colon)] = pair.substr(colon + 1);
  }
  return filter;
}

bool node_matches(const catalog::Node& node, const catalog::TagMap& filter) {
  if (filter.empty()) return true;
  auto merged = node.tags.merged();
  for (const auto& [key, value] : filter) {
    auto found = merged.find(key);
    if (found == merged.end() || found->second != value) return false;
  }
  return true;
}

// ---- Consul JSON shapes ----

json node_json(const catalog::Node& node) {
  return json{{"ID", node.id},
              {"Node", node.name},
              {"Address", node.address},
              {"Datacenter", node.datacenter},
              {"TaggedAddresses", node.tagged_addresses},
              {"Meta", node.tags.merged()},
              {"CreateIndex", node.create_index},
              {"ModifyIndex", node.modify_index}};
}

json catalog_service_json(const catalog::Node& node, const catalog::Service& service) {
  return json{{"ID", node.id},
              {"Node", node.name},
              {"Address", node.address},
              {"Datacenter", node.datacenter},
              {"TaggedAddresses", node.tagged_addresses},
              {"NodeMeta", node.tags.merged()},
              {"ServiceID", service.id},
              {"ServiceName", service.name},
              {"ServiceTags", service.tags},
              {"ServiceAddress", service.address},
              {"ServicePort", service.port},
              {"ServiceMeta", service.meta},
              {"ServiceEnableTagOverride", service.enable_tag_override},
              {"CreateIndex", service.create_index},
              {"ModifyIndex", service.modify_index}};
}

json agent_service_json(const catalog::Service& service) {
  return json{{"ID", service.id},
              {"Service", service.name},
              {"Tags", service.tags},
              {"Address", service.address},
              {"Port", service.port},
              {"Meta", service.meta},
              {"EnableTagOverride", service.enable_tag_override},
              {"CreateIndex", service.create_index},
              {"ModifyIndex", service.modify_index}};
}

json check_json(const catalog::Check& check) {
  return json{{"Node", check.node},
              {"CheckID", check.check_id},
              {"Name", check.name},
              {"Status", check.status},
              {"Notes", check.notes},
              {"Output", check.output},
              {"ServiceID", check.service_id},
              {"ServiceName", check.service_name},
              {"ServiceTags", check.service_tags},
              {"Type", check.type},
              {"Definition", json{{"Interval", check.interval}, {"Timeout", check.timeout}}},
              {"CreateIndex", check.create_index},
              {"ModifyIndex", check.modify_index}};
}

json kv_json(const catalog::KvEntry& entry) {
  json out{{"LockIndex", entry.lock_index},
           {"Key", entry.key},
           {"Flags", entry.flags},
           {"Value", entry.value.empty() ? json(nullptr) : json(base64_encode(entry.value))},
           {"CreateIndex", entry.create_index},
           {"ModifyIndex", entry.modify_index}};
  if (!entry.session.empty()) out["Session"] = entry.session;
  return out;
}

json session_json(const catalog::Session& session) {
  std::vector<std::string> all_checks = session.node_checks;
  return json{{"ID", session.id},
              {"Name", session.name},
              {"Node", session.node},
              {"Checks", all_checks},
              {"NodeChecks", session.node_checks},
              {"ServiceChecks", session.service_checks},
              {"LockDelay", session.lock_delay_ns},
              {"Behavior", session.behavior},
              {"TTL", !session.ttl.empty() ? session.ttl
                      : session.ttl_ns == 0 ? std::string()
                                            : format_go_duration(std::chrono::nanoseconds(session.ttl_ns))},
              {"CreateIndex", session.create_index},
              {"ModifyIndex", session.modify_index}};
}

json tag_layers_json(const catalog::Node& node) {
  return json{{"Node", node.name},
              {"Operator", node.tags.operator_tags},
              {"Runtime", node.tags.runtime_tags},
              {"Image", node.tags.image_tags},
              {"Merged", node.tags.merged()},
              {"ModifyIndex", node.modify_index}};
}

}  // namespace roster::http
