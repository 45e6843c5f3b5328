#include "agent/http/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/catalog/watch_hub.h"
#include "agent/http/api.h"
#include "common/accept_backoff.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/one_shot_timer.h"

namespace roster::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Serialized answers to blocking reads, shared by every session waiting on
// the same query: when a write wakes ten thousand watchers of one key, the
// query runs and its JSON is built once, and each session sends the same bytes.
// Entries are good only for the data index they were made at.
class ResponseCache {
 public:
  static constexpr size_t kMaxEntries = 4096;

  std::shared_ptr<const std::string> find(const std::string& target, uint64_t data_index) {
    if (data_index != index_) return nullptr;
    auto found = entries_.find(target);
    return found == entries_.end() ? nullptr : found->second;
  }

  void put(const std::string& target, uint64_t data_index, std::shared_ptr<const std::string> bytes) {
    if (data_index != index_ || entries_.size() >= kMaxEntries) {
      entries_.clear();
      index_ = data_index;
    }
    entries_[target] = std::move(bytes);
  }

 private:
  uint64_t index_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> entries_;
};

bool is_cacheable_path(const std::string& path) {
  for (std::string_view prefix : {"/v1/kv/", "/v1/catalog/", "/v1/health/", "/v1/session/"}) {
    if (path.starts_with(prefix)) return true;
  }
  return false;
}

// The whole response as bytes: one buffer to write, shareable between sessions.
std::shared_ptr<const std::string> serialize(const HttpResponse& response, bool keep_alive, int http_version,
                                             bool head_request) {
  auto reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(response.status)));
  auto out = std::make_shared<std::string>();
  out->reserve(160 + response.body.size());
  out->append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  out->append(reason.data(), reason.size()).append("\r\nContent-Type: ").append(response.content_type);
  out->append("\r\n");
  for (const auto& [name, value] : response.headers) out->append(name).append(": ").append(value).append("\r\n");
  out->append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
  if (!keep_alive) {
    out->append("Connection: close\r\n");
  } else if (http_version == 10) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
  if (!head_request) out->append(response.body);
  return out;
}

// Methods a client can send are unbounded; the label's values are not.
std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"}) {
    if (method == known) return known;
  }
  return method.empty() ? "unknown" : "other";
}

// "HTTP/1.1 200 OK..." -> 200; 0 when the bytes are not a status line.
int status_of(const std::string& bytes) {
  if (bytes.size() < 12) return 0;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (bytes[i] < '0' || bytes[i] > '9') return 0;
    status = status * 10 + (bytes[i] - '0');
  }
  return status;
}

// Counts and times answered requests. The instruments are looked up once
// per label set, then kept here. REQUIRES: the server's thread.
class RequestMetrics {
 public:
  explicit RequestMetrics(metrics::Registry& registry) : registry_(registry) {}

  void record(std::string_view method, std::string_view route, int status, double seconds) {
    auto& requests = requests_[{std::string(method), status}];
    if (requests == nullptr) {
      requests = &registry_.counter("roster.http.requests", "HTTP requests answered, by method and status code.",
                                    {{"method", std::string(method)}, {"code", std::to_string(status)}});
    }
    requests->add();
    auto& duration = durations_[{std::string(method), std::string(route)}];
    if (duration == nullptr) {
      duration = &registry_.histogram(
          "roster.http.request_duration_seconds",
          "Seconds from a request read to its answer handed to the socket (blocking waits included), "
          "by method and route as Consul labels them (v1.kv._).",
          metrics::latency_bounds_seconds(), {{"method", std::string(method)}, {"path", std::string(route)}});
    }
    duration->observe(seconds);
  }

 private:
  metrics::Registry& registry_;
  std::map<std::pair<std::string, int>, metrics::Counter*> requests_;
  std::map<std::pair<std::string, std::string>, metrics::Histogram*> durations_;
};

class Session;

// Sessions woken by one write are resumed together by one posted handler,
// rather than one post (and one allocation) per session; the write that woke
// them still returns first.
class WakeQueue {
 public:
  explicit WakeQueue(asio::io_context& io) : io_(io) {}
  void push(std::weak_ptr<Session> session);

 private:
  void drain();

  asio::io_context& io_;
  std::vector<std::weak_ptr<Session>> pending_;
  bool scheduled_ = false;
};

// What every session of one server shares. Held by each session, so it
// outlives them all whatever order the server and its sessions end in.
struct Shared {
  Shared(asio::io_context& io, Api& api, catalog::WatchHub& watch_hub, ServerOptions options)
      : io(io), api(api), watch_hub(watch_hub), options(std::move(options)), wakes(io) {
    if (this->options.metrics != nullptr) request_metrics.emplace(*this->options.metrics);
  }

  std::chrono::steady_clock::time_point now() const {
    return options.clock != nullptr ? options.clock->now() : std::chrono::steady_clock::now();
  }

  // A session's hold on its client's connection slot.
  void release_client_slot(const asio::ip::address& client) {
    auto found = connections_per_client.find(client);
    if (found == connections_per_client.end()) return;
    if (--found->second == 0) connections_per_client.erase(found);
  }

  asio::io_context& io;
  Api& api;
  catalog::WatchHub& watch_hub;
  bool server_gone = false;  // the HttpServer (and with it the hub's owner's promise) is gone
  const ServerOptions options;
  ResponseCache cache;
  WakeQueue wakes;
  std::map<asio::ip::address, size_t> connections_per_client;
  ServerStats stats;
  std::optional<RequestMetrics> request_metrics;
  // The size of the last answer refused for the unsent-bytes budget; while
  // it still would not fit, reads that can be that large are refused before
  // they are built. 0 once the budget has room again.
  size_t refused_answer_bytes = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // Answers this small (errors among them) are sent whatever the budget of
  // unsent bytes says.
  static constexpr size_t kAlwaysSent = 16 * 1024;

  Session(tcp::socket socket, asio::ip::address client, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), client_(std::move(client)), shared_(std::move(shared)), api_(shared_->api),
        options_(shared_->options), deadline_(shared_->io) {
    ++shared_->stats.open_connections;
  }

  ~Session() {
    cancel_wait();
    set_unsent(0);
    shared_->release_client_slot(client_);
    --shared_->stats.open_connections;
  }

  void start() { do_read(); }

  // Called by the WakeQueue after data this session's query read changed.
  void resume() {
    if (!waiter_) return;  // already answered: the deadline won, or the client left
    waiter_.reset();
    end_park();
    dispatch();
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(api_.max_body_bytes());
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_seconds));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code error, size_t) { self->on_read(error); });
  }

  void on_read(beast::error_code error) {
    if (error == bhttp::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::operation_aborted || error == asio::error::connection_reset) {
      return close();
    }
    // Requests are timed from here, once their bytes have arrived: time spent
    // by an idle keep-alive connection before its next request is not theirs.
    request_started_ = shared_->now();
    metric_method_ = "unknown";
    if (parser_->is_header_done()) {
      const auto method = parser_->get().method_string();
      metric_method_ = method_label(std::string_view(method.data(), method.size()));
    }
    metric_route_ = "unknown";
    if (error == bhttp::error::body_limit) {
      return write_error(413, "Request body too large, max size: " + std::to_string(api_.max_body_bytes()) + " bytes");
    }
    if (error == bhttp::error::header_limit) return write_error(431, "Request headers too large");
    if (error) return write_error(400, "Bad request: " + error.message());

    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    http_version_ = static_cast<int>(message.version());
    head_request_ = message.method() == bhttp::verb::head;
    request_ = HttpRequest{};
    request_.method = std::string(message.method_string());
    request_.version = http_version_;
    target_.assign(message.target().data(), message.target().size());
    if (!parse_target(target_, request_.path, request_.query)) {
      return write_error(400, "Bad request: malformed percent-escape in URL");
    }
    metric_route_ = route_label(request_.path);
    for (const auto& header : message) {
      std::string name(header.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      // The hop count of a forwarded request is the agents' own, set only on
      // Api.Forward; an HTTP client's header of that name is dropped.
      if (name == kForwardHopsHeaderName) continue;
      request_.headers[name] = std::string(header.value());
    }
    request_.body = std::move(message.body());
    blocking_ = BlockingState{};
    stream_.expires_never();
    dispatch();
  }

  void dispatch() {
    // Only blocking reads are shared: they are the herd that one write wakes.
    bool cacheable = keep_alive_ && !head_request_ && request_.method == "GET" && request_.param("index") &&
                     is_cacheable_path(request_.path);
    if (cacheable) {
      if (auto bytes = shared_->cache.find(target_, api_.data_index())) return write_bytes(std::move(bytes), true);
    }
    // While unread answers fill the budget, shed the reads that can be large
    // before building them: building an 8 MB answer only to refuse it would
    // let clients that never read keep the agent's one thread busy.
    if (request_.method == "GET" && is_cacheable_path(request_.path) &&
        shared_->stats.unsent_response_bytes + std::max(kAlwaysSent, shared_->refused_answer_bytes) >
            options_.max_unsent_response_bytes) {
      ++shared_->stats.shed_before_building;
      return refuse_busy();
    }
    HandleResult result = api_.handle(request_, blocking_);
    if (result.wait) return park(*result.wait);
    auto bytes = serialize(result.response, keep_alive_, http_version_, head_request_);
    // A response given because the wait expired is not what a fresh request
    // for the same target would get (it would block), so it is not shared.
    const bool shared = cacheable && !blocking_.expired;
    if (shared) shared_->cache.put(target_, api_.data_index(), bytes);
    write_bytes(std::move(bytes), shared);
  }

  // Waits until a key the query read changes, the deadline passes, or the
  // client goes away, whichever comes first. The other two are then called
  // off for good: each way out goes through end_park(), and the deadline
  // timer and the close watch both drop a completion that asio had already
  // queued, so a parked request is answered exactly once.
  void park(const BlockingWait& wait) {
    std::weak_ptr<Session> weak = shared_from_this();
    waiter_ = shared_->watch_hub.wait(wait.watch_keys, [weak, &wakes = shared_->wakes] { wakes.push(weak); });
    // The deadline's callback holds the session alive while it is parked.
    deadline_.arm_at(wait.deadline, [self = shared_from_this()] { self->on_deadline(); });
    watch_for_close();
  }

  void on_deadline() {
    cancel_wait();
    end_park();
    blocking_.expired = true;
    dispatch();
  }

  void end_park() {
    deadline_.cancel();
    ++close_watch_generation_;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }

  // A parked request has no read outstanding, so a client that resets or
  // closes its connection would go unnoticed until the wait ends, holding its
  // socket, descriptor and watcher. Watch the socket for readability instead:
  // a close or reset ends the wait at once; bytes of a pipelined next request
  // are moved into the read buffer, where the next read will find them.
  void watch_for_close() {
    const uint64_t generation = ++close_watch_generation_;
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this(), generation](beast::error_code error) {
                                  if (generation != self->close_watch_generation_ || !self->waiter_) return;
                                  self->on_readable_while_parked(error);
                                });
  }

  void on_readable_while_parked(beast::error_code error) {
    auto& socket = stream_.socket();
    size_t available = error ? 0 : socket.available(error);
    if (error || available == 0) return abandon();  // readable with nothing to read: closed or reset
    // A client that pipelines this much behind a parked request is left to
    // wait in the kernel's buffer; the watch stops, the request stays parked.
    if (buffer_.size() + available > options_.max_header_bytes + api_.max_body_bytes()) return;
    // Does not block: the bytes are already here.
    size_t taken = socket.read_some(buffer_.prepare(available), error);
    if (error) return abandon();
    buffer_.commit(taken);
    watch_for_close();
  }

  void abandon() {
    ++shared_->stats.abandoned_waits;
    cancel_wait();
    end_park();
    close();
  }

  void cancel_wait() {
    if (waiter_ && !shared_->server_gone) {
      shared_->watch_hub.cancel(*waiter_);
      waiter_.reset();
    }
  }

  void write_error(int status, std::string message) {
    keep_alive_ = false;
    linger_ = true;
    write_bytes(serialize(HttpResponse::error(status, std::move(message)), keep_alive_, http_version_, head_request_),
                false);
  }

  // After refusing a request whose body is still arriving, keep reading (and
  // dropping) it for a short while, so the client can finish sending and read
  // the error instead of seeing a connection reset.
  void drain() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    if (!drain_buffer_) drain_buffer_ = std::make_unique<std::array<char, 8192>>();
    stream_.async_read_some(asio::buffer(*drain_buffer_), [self = shared_from_this()](beast::error_code error, size_t) {
      if (error) return self->close();
      self->drain();
    });
  }

  // `shared_bytes`: the bytes are a cache entry that other sessions send too;
  // they are bounded by the cache, not counted against this connection.
  void write_bytes(std::shared_ptr<const std::string> bytes, bool shared_bytes) {
    if (!shared_bytes && bytes->size() > kAlwaysSent &&
        shared_->stats.unsent_response_bytes + bytes->size() > options_.max_unsent_response_bytes) {
      shared_->refused_answer_bytes = bytes->size();
      return refuse_busy();
    }
    if (!shared_bytes) set_unsent(bytes->size());
    record_request(*bytes);
    out_ = std::move(bytes);
    stream_.expires_after(std::chrono::seconds(30));
    asio::async_write(stream_, asio::buffer(*out_), [self = shared_from_this()](beast::error_code error, size_t) {
      self->on_write(error);
    });
  }

  void record_request(const std::string& bytes) {
    if (!request_started_) return;
    if (shared_->request_metrics) {
      const double seconds = std::chrono::duration<double>(shared_->now() - *request_started_).count();
      shared_->request_metrics->record(metric_method_, metric_route_, status_of(bytes), seconds);
    }
    request_started_.reset();
  }

  void refuse_busy() {
    ++shared_->stats.refused_unsent_limit;
    if (shared_->stats.refused_unsent_limit == 1 || shared_->stats.refused_unsent_limit % 1000 == 0) {
      spdlog::warn("HTTP: {} responses refused because clients are not reading {} bytes of earlier answers "
                   "(limit {})",
                   shared_->stats.refused_unsent_limit, shared_->stats.unsent_response_bytes,
                   options_.max_unsent_response_bytes);
    }
    keep_alive_ = false;
    HttpResponse busy = HttpResponse::error(503, "Too many unread responses held for slow clients; retry later");
    busy.headers.emplace_back("Retry-After", "1");
    write_bytes(serialize(busy, keep_alive_, http_version_, head_request_), false);
  }

  void set_unsent(size_t bytes) {
    // A large answer taken (or dropped) makes room: the next read is built again.
    if (bytes < unsent_ && unsent_ > kAlwaysSent) shared_->refused_answer_bytes = 0;
    shared_->stats.unsent_response_bytes -= unsent_;
    unsent_ = bytes;
    shared_->stats.unsent_response_bytes += unsent_;
  }

  void on_write(beast::error_code error) {
    set_unsent(0);
    if (error) return close();
    if (linger_) return drain();
    if (!keep_alive_) return close();
    out_.reset();
    do_read();
  }

  void close() {
    cancel_wait();
    deadline_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  const asio::ip::address client_;
  const std::shared_ptr<Shared> shared_;
  Api& api_;
  const ServerOptions& options_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<const std::string> out_;
  size_t unsent_ = 0;  // this session's share of ServerStats::unsent_response_bytes
  std::string target_;
  HttpRequest request_;
  BlockingState blocking_;
  OneShotTimer deadline_;
  uint64_t close_watch_generation_ = 0;
  std::optional<catalog::WatchHub::WaiterId> waiter_;
  bool keep_alive_ = true;
  int http_version_ = 11;
  bool head_request_ = false;
  bool linger_ = false;
  // The request being answered, for its metrics; unset once it is recorded.
  std::optional<std::chrono::steady_clock::time_point> request_started_;
  std::string_view metric_method_ = "unknown";  // static strings only (method_label, route_label)
  std::string_view metric_route_ = "unknown";
  // Only a lingering close needs it; allocated then, so an idle or parked
  // session (there may be tens of thousands) does not carry 8 KiB.
  std::unique_ptr<std::array<char, 8192>> drain_buffer_;
};

void WakeQueue::push(std::weak_ptr<Session> session) {
  pending_.push_back(std::move(session));
  if (scheduled_) return;
  scheduled_ = true;
  asio::post(io_, [this] { drain(); });
}

void WakeQueue::drain() {
  scheduled_ = false;
  std::vector<std::weak_ptr<Session>> woken;
  woken.swap(pending_);
  for (auto& weak : woken) {
    if (auto session = weak.lock()) session->resume();
  }
}

}  // namespace

// Consul answers a client over its connection limit this way (go-connlimit).
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 82\r\n"
    "Connection: close\r\n\r\n"
    "Your IP is issuing too many concurrent connections, please rate limit your calls\n\n";

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, Api& api, catalog::WatchHub& watch_hub, ServerOptions options)
      : shared(std::make_shared<Shared>(io, api, watch_hub, std::move(options))), acceptor(io), retry(io) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (error) return self->back_off(error);
      self->accept_backoff.succeeded();
      self->admit(std::move(socket));
      self->accept();
    });
  }

  // As Go's net/http does: wait 5 ms after a failed accept, doubling up to
  // 1 s while it keeps failing, and say so once per 10 s.
  void back_off(const beast::error_code& error) {
    ++shared->stats.accept_failures;
    const AcceptBackoff::Decision wait = accept_backoff.failed(shared->now());
    if (wait.report) {
      spdlog::warn("HTTP accept failed: {}{}; retrying in {} ms{}", error.message(),
                   is_resource_exhaustion(error) ? " (raise the open-files limit or lower http_max_conns_per_client)"
                                                 : "",
                   std::chrono::duration_cast<std::chrono::milliseconds>(wait.retry_after).count(),
                   wait.unreported > 0 ? fmt::format(" ({} failures since the last report)", wait.unreported + 1)
                                       : std::string(" (reported at most every 10 s)"));
    }
    retry.arm_after(wait.retry_after, [weak = weak_from_this()] {
      if (auto self = weak.lock(); self && self->acceptor.is_open()) self->accept();
    });
  }

  void admit(tcp::socket socket) {
    beast::error_code error;
    auto client = socket.remote_endpoint(error).address();
    if (error) return;  // already gone
    size_t& held = shared->connections_per_client[client];
    if (shared->options.max_conns_per_client > 0 && held >= shared->options.max_conns_per_client) {
      if (held == 0) shared->connections_per_client.erase(client);
      return refuse_over_limit(std::move(socket), client);
    }
    ++held;
    socket.set_option(tcp::no_delay(true), error);
    std::make_shared<Session>(std::move(socket), client, shared)->start();
  }

  void refuse_over_limit(tcp::socket socket, const asio::ip::address& client) {
    if (shared->stats.refused_per_client_limit++ % 1000 == 0) {
      spdlog::warn("HTTP: refused a connection from {}: it already holds {} (http_max_conns_per_client); "
                   "{} refused so far",
                   client.to_string(), shared->options.max_conns_per_client, shared->stats.refused_per_client_limit);
    }
    auto refused = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*refused, asio::buffer(kTooManyConnections), [refused](beast::error_code, size_t) {
      beast::error_code ignored;
      refused->shutdown(tcp::socket::shutdown_both, ignored);
      refused->close(ignored);
    });
  }

  std::shared_ptr<Shared> shared;
  tcp::acceptor acceptor;
  OneShotTimer retry;
  AcceptBackoff accept_backoff{std::chrono::milliseconds(5), std::chrono::seconds(1)};
};

HttpServer::HttpServer(asio::io_context& io, Api& api, catalog::WatchHub& watch_hub, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, api, watch_hub, std::move(options))) {
  if (metrics::Registry* registry = impl_->shared->options.metrics) {
    collector_id_ = registry->add_collector([weak = std::weak_ptr<Shared>(impl_->shared)](metrics::Snapshot& out) {
      auto shared = weak.lock();
      if (!shared) return;
      const ServerStats& stats = shared->stats;
      out.add_gauge("roster.http.open_connections", "HTTP connections open.",
                    static_cast<double>(stats.open_connections));
      out.add_gauge("roster.http.unsent_response_bytes", "Bytes of answers written but not yet taken by clients.",
                    static_cast<double>(stats.unsent_response_bytes));
      out.add_counter("roster.http.refused",
                      "HTTP connections and answers refused: per_client_limit (429, http_max_conns_per_client), "
                      "unsent_limit (503, http_max_unsent_response_bytes).",
                      static_cast<double>(stats.refused_per_client_limit), {{"reason", "per_client_limit"}});
      out.add_counter("roster.http.refused", "", static_cast<double>(stats.refused_unsent_limit),
                      {{"reason", "unsent_limit"}});
      out.add_counter("roster.http.shed_before_building",
                      "Reads refused before their answer was built, while unread answers filled the budget.",
                      static_cast<double>(stats.shed_before_building));
      out.add_counter("roster.http.accept_failures", "Failed accepts on the HTTP port (EMFILE and the like).",
                      static_cast<double>(stats.accept_failures));
      out.add_counter("roster.http.abandoned_waits", "Blocking queries whose client went away while parked.",
                      static_cast<double>(stats.abandoned_waits));
    });
  }
}

HttpServer::~HttpServer() {
  stop();
  // Sessions still parked are destroyed with the io_context, which may
  // outlive the watch hub: they must not reach for it then.
  impl_->shared->server_gone = true;
  if (metrics::Registry* registry = impl_->shared->options.metrics) registry->remove_collector(collector_id_);
}

Status HttpServer::start() {
  const ServerOptions& options = impl_->shared->options;
  const std::string where = options.address + ":" + std::to_string(options.port);
  beast::error_code error;
  auto address = asio::ip::make_address(options.address, error);
  if (error) return Status::invalid_argument("invalid HTTP address \"" + options.address + "\"");
  tcp::endpoint endpoint(address, options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return Status::unavailable("cannot listen for HTTP on " + where + ": " + error.message());
  impl_->accept();
  return Status::ok();
}

uint16_t HttpServer::port() const {
  beast::error_code error;
  auto endpoint = impl_->acceptor.local_endpoint(error);
  return error ? 0 : endpoint.port();
}

void HttpServer::stop() {
  beast::error_code ignored;
  impl_->retry.cancel();
  if (impl_->acceptor.is_open()) impl_->acceptor.close(ignored);
}

ServerStats HttpServer::stats() const { return impl_->shared->stats; }

}  // namespace roster::http
