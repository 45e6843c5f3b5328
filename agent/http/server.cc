#include "agent/http/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/catalog/watch_hub.h"
#include "agent/http/api.h"

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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Api& api, catalog::WatchHub& watch_hub, const ServerOptions& options,
          ResponseCache& cache, WakeQueue& wakes)
      : stream_(std::move(socket)), api_(api), watch_hub_(watch_hub), options_(options), cache_(cache),
        wakes_(wakes), timer_(stream_.get_executor()) {}

  // Called by the WakeQueue after data this session's query read changed.
  void resume() {
    if (!waiter_) return;  // already answered (the deadline won)
    waiter_.reset();
    timer_.cancel();
    dispatch();
  }

  ~Session() { cancel_wait(); }

  void start() { do_read(); }

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
    target_.assign(message.target().data(), message.target().size());
    if (!parse_target(target_, request_.path, request_.query)) {
      return write_error(400, "Bad request: malformed percent-escape in URL");
    }
    for (const auto& header : message) {
      std::string name(header.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
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
      if (auto bytes = cache_.find(target_, api_.data_index())) return write_bytes(std::move(bytes));
    }
    HandleResult result = api_.handle(request_, blocking_);
    if (result.wait) return park(*result.wait);
    auto bytes = serialize(result.response, keep_alive_, http_version_, head_request_);
    // A response given because the wait expired is not what a fresh request
    // for the same target would get (it would block), so it is not shared.
    if (cacheable && !blocking_.expired) cache_.put(target_, api_.data_index(), bytes);
    write_bytes(std::move(bytes));
  }

  // Waits until a key the query read changes, or the deadline passes.
  void park(const BlockingWait& wait) {
    std::weak_ptr<Session> weak = shared_from_this();
    waiter_ = watch_hub_.wait(wait.watch_keys, [weak, &wakes = wakes_] { wakes.push(weak); });
    timer_.expires_at(wait.deadline);
    // The timer's handler holds the session alive while it is parked.
    timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (error) return;
      self->cancel_wait();
      self->blocking_.expired = true;
      self->dispatch();
    });
  }

  void cancel_wait() {
    if (waiter_) {
      watch_hub_.cancel(*waiter_);
      waiter_.reset();
    }
  }

  void write_error(int status, std::string message) {
    keep_alive_ = false;
    linger_ = true;
    write(HttpResponse::error(status, std::move(message)));
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

  void write(const HttpResponse& response) {
    write_bytes(serialize(response, keep_alive_, http_version_, head_request_));
  }

  void write_bytes(std::shared_ptr<const std::string> bytes) {
    out_ = std::move(bytes);
    stream_.expires_after(std::chrono::seconds(30));
    asio::async_write(stream_, asio::buffer(*out_), [self = shared_from_this()](beast::error_code error, size_t) {
      self->on_write(error);
    });
  }

  void on_write(beast::error_code error) {
    if (error) return close();
    if (linger_) return drain();
    if (!keep_alive_) return close();
    out_.reset();
    do_read();
  }

  void close() {
    cancel_wait();
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  Api& api_;
  catalog::WatchHub& watch_hub_;
  const ServerOptions& options_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<const std::string> out_;
  ResponseCache& cache_;
  WakeQueue& wakes_;
  std::string target_;
  HttpRequest request_;
  BlockingState blocking_;
  asio::steady_timer timer_;
  std::optional<catalog::WatchHub::WaiterId> waiter_;
  bool keep_alive_ = true;
  int http_version_ = 11;
  bool head_request_ = false;
  bool linger_ = false;
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

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, Api& api, catalog::WatchHub& watch_hub, ServerOptions options)
      : io(io), api(api), watch_hub(watch_hub), options(std::move(options)), wakes(io), acceptor(io) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!error) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), self->api, self->watch_hub, self->options, self->cache,
                                  self->wakes)
            ->start();
      } else {
        spdlog::warn("HTTP accept failed: {}", error.message());
      }
      self->accept();
    });
  }

  asio::io_context& io;
  Api& api;
  catalog::WatchHub& watch_hub;
  ServerOptions options;
  ResponseCache cache;
  WakeQueue wakes;
  tcp::acceptor acceptor;
};

HttpServer::HttpServer(asio::io_context& io, Api& api, catalog::WatchHub& watch_hub, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, api, watch_hub, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  const std::string where = impl_->options.address + ":" + std::to_string(impl_->options.port);
  beast::error_code error;
  auto address = asio::ip::make_address(impl_->options.address, error);
  if (error) return Status::invalid_argument("invalid HTTP address \"" + impl_->options.address + "\"");
  tcp::endpoint endpoint(address, impl_->options.port);
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
  if (impl_->acceptor.is_open()) impl_->acceptor.close(ignored);
}

}  // namespace roster::http
