#include "agent/checks/http_probe.h"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "agent/checks/http_url.h"
#include "common/duration.h"

namespace roster::checks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Consul's default when a check gives no timeout.
constexpr std::chrono::nanoseconds kDefaultTimeout = std::chrono::seconds(10);

template <class Stream>
class HttpProbe final : public Probe, public std::enable_shared_from_this<HttpProbe<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  HttpProbe(asio::io_context& io, const local::CheckDefinition& check, HttpUrl url, size_t max_output_bytes,
            ProbeCallback done)
      : resolver_(io),
        deadline_(io),
        url_text_(check.http),
        method_(check.http_method.empty() ? "GET" : check.http_method),
        url_(std::move(url)),
        tls_skip_verify_(check.tls_skip_verify),
        timeout_(check.timeout > std::chrono::nanoseconds::zero() ? check.timeout : kDefaultTimeout),
        max_output_bytes_(max_output_bytes),
        done_(std::move(done)) {
    if constexpr (kTls) {
      tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      error_code ignored;
      tls_context_->set_default_verify_paths(ignored);
      stream_.emplace(io, *tls_context_);
    } else {
      stream_.emplace(io);
    }
    build_request(check);
    parser_.body_limit((std::numeric_limits<std::uint64_t>::max)());
    if (request_.method() == http::verb::head) parser_.skip(true);
  }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec) return;  // cancelled because the run finished
      self->finish({kCritical, self->prefix() + "timed out after " + format_go_duration(self->timeout_)});
    });
    resolver_.async_resolve(url_.host, url_.port,
                            [self = this->shared_from_this()](error_code ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

  void cancel() override {
    finished_ = true;
    done_ = nullptr;
    release();
  }

 private:
  std::string prefix() const { return "HTTP " + method_ + " " + url_text_ + ": "; }

  void build_request(const local::CheckDefinition& check) {
    request_.version(11);
    http::verb verb = http::string_to_verb(method_);
    if (verb == http::verb::unknown) {
      request_.method_string(method_);
    } else {
      request_.method(verb);
    }
    request_.target(url_.target);
    request_.set(http::field::host, url_.host_header);
    request_.set(http::field::user_agent, "Roster Health Check");
    request_.set(http::field::accept, "text/plain, text/*, */*");
    request_.set(http::field::connection, "close");
    for (const auto& [name, values] : check.http_headers) {
      if (values.empty()) continue;
      request_.erase(name);
      for (const auto& value : values) request_.insert(name, value);
    }
    request_.prepare_payload();
  }

  bool stale(error_code ec) {
    if (finished_) return true;
    if (ec) {
      finish({kCritical, prefix() + ec.message()});
      return true;
    }
    return false;
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (stale(ec)) return;
    beast::get_lowest_layer(*stream_).async_connect(
        results, [self = this->shared_from_this()](error_code connect_ec, const tcp::endpoint&) {
          self->on_connect(connect_ec);
        });
  }

  void on_connect(error_code ec) {
    if (stale(ec)) return;
    if constexpr (kTls) {
      // SNI, so virtual hosts present the right certificate.
      if (!SSL_set_tlsext_host_name(stream_->native_handle(), url_.host.c_str())) {
        finish({kCritical, prefix() + "cannot set TLS server name"});
        return;
      }
      if (tls_skip_verify_) {
        stream_->set_verify_mode(asio::ssl::verify_none);
      } else {
        stream_->set_verify_mode(asio::ssl::verify_peer);
        stream_->set_verify_callback(asio::ssl::host_name_verification(url_.host));
      }
      stream_->async_handshake(asio::ssl::stream_base::client,
                               [self = this->shared_from_this()](error_code handshake_ec) {
                                 if (self->stale(handshake_ec)) return;
                                 self->send_request();
                               });
    } else {
      send_request();
    }
  }

  void send_request() {
    http::async_write(*stream_, request_, [self = this->shared_from_this()](error_code ec, size_t) {
      if (self->stale(ec)) return;
      http::async_read_header(*self->stream_, self->buffer_, self->parser_,
                              [self](error_code read_ec, size_t) {
                                if (self->stale(read_ec)) return;
                                self->read_body();
                              });
    });
  }

  // Reads only as much body as the output can hold; Consul does the same so a
  // chatty endpoint cannot bloat the catalog.
  void read_body() {
    if (parser_.is_done() || body_.size() >= max_output_bytes_) {
      finish_with_response();
      return;
    }
    parser_.get().body().data = chunk_.data();
    parser_.get().body().size = chunk_.size();
    http::async_read(*stream_, buffer_, parser_, [self = this->shared_from_this()](error_code ec, size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (self->finished_) return;
      size_t got = self->chunk_.size() - self->parser_.get().body().size;
      self->body_.append(self->chunk_.data(), got);
      if (ec) {
        if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
          self->finish_with_response();  // the server closed after a body without a length
        } else {
          self->finish({kCritical, self->prefix() + ec.message()});
        }
        return;
      }
      self->read_body();
    });
  }

  void finish_with_response() {
    const auto& response = parser_.get();
    unsigned code = response.result_int();
    std::string reason(response.reason());
    if (reason.empty()) reason = std::string(http::obsolete_reason(response.result()));
    const char* status = kCritical;
    if (code >= 200 && code < 300) {
      status = kPassing;
    } else if (code == 429) {
      status = kWarning;  // Too Many Requests: alive, but shedding load
    }
    body_ = truncate_output(std::move(body_), max_output_bytes_);
    finish({status, fmt::format("{}{} {} Output: {}", prefix(), code, reason, body_)});
  }

  void finish(CheckResult result) {
    if (finished_) return;
    finished_ = true;
    release();
    auto done = std::move(done_);
    done_ = nullptr;
    result.output = truncate_output(std::move(result.output), max_output_bytes_);
    if (done) done(std::move(result));
  }

  void release() {
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    beast::get_lowest_layer(*stream_).socket().close(ignored);
  }

  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  std::unique_ptr<asio::ssl::context> tls_context_;
  std::optional<Stream> stream_;
  std::string url_text_;
  std::string method_;
  HttpUrl url_;
  bool tls_skip_verify_;
  std::chrono::nanoseconds timeout_;
  size_t max_output_bytes_;
  ProbeCallback done_;
  bool finished_ = false;

  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::array<char, 4096> chunk_{};
  std::string body_;
};

// A run that fails before it starts still answers asynchronously, as the
// ProbeCallback contract promises.
class ImmediateProbe final : public Probe, public std::enable_shared_from_this<ImmediateProbe> {
 public:
  ImmediateProbe(asio::io_context& io, CheckResult result, ProbeCallback done)
      : io_(io), result_(std::move(result)), done_(std::move(done)) {}
  void start() {
    asio::post(io_, [self = shared_from_this()] {
      if (auto done = std::move(self->done_)) done(std::move(self->result_));
    });
  }
  void cancel() override { done_ = nullptr; }

 private:
  asio::io_context& io_;
  CheckResult result_;
  ProbeCallback done_;
};

}  // namespace

std::shared_ptr<Probe> start_http_probe(asio::io_context& io, const local::CheckDefinition& check,
                                        size_t max_output_bytes, ProbeCallback done) {
  auto url = parse_http_url(check.http);
  if (!url.is_ok()) {
    std::string method = check.http_method.empty() ? "GET" : check.http_method;
    auto probe = std::make_shared<ImmediateProbe>(
        io, CheckResult{kCritical, truncate_output("HTTP " + method + " " + check.http + ": " + url.status().message(),
                                                   max_output_bytes)},
        std::move(done));
    probe->start();
    return probe;
  }
  if (url->tls) {
    auto probe = std::make_shared<HttpProbe<TlsStream>>(io, check, std::move(url).value(), max_output_bytes,
                                                        std::move(done));
    probe->start();
    return probe;
  }
  auto probe =
      std::make_shared<HttpProbe<PlainStream>>(io, check, std::move(url).value(), max_output_bytes, std::move(done));
  probe->start();
  return probe;
}

}  // namespace roster::checks
