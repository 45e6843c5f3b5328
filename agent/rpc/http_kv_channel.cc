#include "agent/rpc/http_kv_channel.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <charconv>

namespace roster::rpc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr uint64_t kMaxResponseBytes = 64ull * 1024 * 1024;

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// "host:port" or "[v6]:port" -> host (without brackets) and port.
bool split_address(const std::string& address, std::string& host, std::string& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return true;
}

std::string go_duration(std::chrono::milliseconds wait) { return std::to_string(wait.count()) + "ms"; }

}  // namespace

std::string kv_path(const std::string& key) {
  std::string out = "/v1/kv";
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string::npos) slash = key.size();
    out += '/';
    out += percent_encode(std::string_view(key).substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

HttpKvChannel::HttpKvChannel(AddressSource catalog_addresses, std::chrono::milliseconds request_timeout)
    : catalog_addresses_(std::move(catalog_addresses)), request_timeout_(request_timeout) {}

std::string HttpKvChannel::current_address() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void HttpKvChannel::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  if (in_flight_ != nullptr) in_flight_->stop();
}

Result<KvRead> HttpKvChannel::get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) {
  std::string target = kv_path(key) + "?raw";
  if (index > 0) target += "&index=" + std::to_string(index) + "&wait=" + go_duration(wait);
  // The server may add up to wait/16 of jitter to a blocking query.
  const std::chrono::milliseconds timeout = index > 0 ? wait + wait / 16 + request_timeout_ : request_timeout_;
  Result<Response> response = request("GET", target, "", timeout);
  if (!response.is_ok()) return response.status();
  KvRead read;
  read.index = response->index;
  if (response->status == 200) {
    read.value = std::move(response->body);
  } else if (response->status != 404) {
    return Status::unavailable("the catalog at " + current_address() + " answered " +
                               std::to_string(response->status) + " to GET " + key + ": " + response->body);
  }
  return read;
}

Status HttpKvChannel::put(const std::string& key, std::string_view value) {
  Result<Response> response = request("PUT", kv_path(key), value, request_timeout_);
  if (!response.is_ok()) return response.status();
  if (response->status != 200 || response->body.find("true") == std::string::npos) {
    return Status::unavailable("the catalog at " + current_address() + " answered " +
                               std::to_string(response->status) + " to PUT " + key + ": " + response->body);
  }
  return Status::ok();
}

Result<HttpKvChannel::Response> HttpKvChannel::request(const std::string& method, const std::string& target,
                                                       std::string_view body, std::chrono::milliseconds timeout) {
  const std::vector<std::string> candidates = catalog_addresses_ ? catalog_addresses_() : std::vector<std::string>{};
  if (candidates.empty()) return Status::unavailable("no catalog server is known yet");
  const std::string& address = candidates[next_candidate_ % candidates.size()];
  {
    std::lock_guard lock(mutex_);
    current_ = address;
  }
  Result<Response> response = send(address, method, target, body, timeout);
  // A server that cannot answer is left for the next candidate.
  if (!response.is_ok() || response->status >= 500) ++next_candidate_;
  return response;
}

Result<HttpKvChannel::Response> HttpKvChannel::send(const std::string& address, const std::string& method,
                                                    const std::string& target, std::string_view body,
                                                    std::chrono::milliseconds timeout) {
  std::string host;
  std::string port;
  if (!split_address(address, host, port)) {
    return Status::invalid_argument("catalog address \"" + address + "\" is not host:port");
  }
  asio::io_context io{1};
  {
    std::lock_guard lock(mutex_);
    if (cancelled_) return Status::unavailable("the exec driver is stopping");
    in_flight_ = &io;
  }
  struct ClearInFlight {
    HttpKvChannel& channel;
    ~ClearInFlight() {
      std::lock_guard lock(channel.mutex_);
      channel.in_flight_ = nullptr;
    }
  } clear_in_flight{*this};

  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
  request.set(bhttp::field::host, address);
  request.set(bhttp::field::user_agent, "roster-agent exec");
  request.set(bhttp::field::content_type, "application/octet-stream");
  request.body() = std::string(body);
  request.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  beast::error_code failure;
  const char* stage = "resolve";
  bool done = false;

  stream.expires_after(timeout);
  resolver.async_resolve(host, port, [&](beast::error_code resolved, asio::ip::tcp::resolver::results_type results) {
    if (resolved) {
      failure = resolved;
      return;
    }
    stage = "connect to";
    stream.async_connect(results, [&](beast::error_code connected, const asio::ip::tcp::endpoint&) {
      if (connected) {
        failure = connected;
        return;
      }
      stage = "send to";
      bhttp::async_write(stream, request, [&](beast::error_code written, size_t) {
        if (written) {
          failure = written;
          return;
        }
        stage = "read from";
        bhttp::async_read(stream, buffer, parser, [&](beast::error_code read, size_t) {
          failure = read;
          done = !read;
        });
      });
    });
  });
  io.run();
  {
    std::lock_guard lock(mutex_);
    if (cancelled_) return Status::unavailable("the exec driver is stopping");
  }
  if (!done) {
    const std::string why = failure == beast::error::timeout
                                ? "no answer within " + std::to_string(timeout.count()) + "ms"
                                : failure.message();
    return Status::unavailable("cannot " + std::string(stage) + " the catalog at " + address + ": " + why);
  }
  Response response;
  response.status = static_cast<int>(parser.get().result_int());
  response.body = std::move(parser.get().body());
  if (auto it = parser.get().find("X-Consul-Index"); it != parser.get().end()) {
    const std::string_view text(it->value().data(), it->value().size());
    std::from_chars(text.data(), text.data() + text.size(), response.index);
  }
  return response;
}

}  // namespace roster::rpc
