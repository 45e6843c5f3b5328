#include "agent/checks/tcp_probe.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/checks/http_url.h"
#include "common/duration.h"

namespace roster::checks {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class TcpProbe final : public Probe, public std::enable_shared_from_this<TcpProbe> {
 public:
  TcpProbe(asio::io_context& io, std::string address, std::chrono::nanoseconds timeout, ProbeCallback done)
      : io_(io),
        resolver_(io),
        socket_(io),
        deadline_(io),
        address_(std::move(address)),
        timeout_(timeout),
        done_(std::move(done)) {}

  void start() {
    auto host_port = split_host_port(address_);
    if (!host_port.is_ok()) {
      // Still answer asynchronously, as ProbeCallback promises.
      asio::post(io_, [self = shared_from_this(), message = host_port.status().message()] {
        self->finish({kCritical, self->prefix() + message});
      });
      return;
    }
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      self->finish({kCritical, self->prefix() + "timed out after " + format_go_duration(self->timeout_)});
    });
    resolver_.async_resolve(host_port->first, host_port->second,
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
                              if (self->finished_) return;
                              if (ec) {
                                self->finish({kCritical, self->prefix() + ec.message()});
                                return;
                              }
                              asio::async_connect(self->socket_, results,
                                                  [self](error_code connect_ec, const tcp::endpoint&) {
                                                    if (self->finished_) return;
                                                    if (connect_ec) {
                                                      self->finish({kCritical, self->prefix() + connect_ec.message()});
                                                    } else {
                                                      self->finish({kPassing, self->prefix() + "Success"});
                                                    }
                                                  });
                            });
  }

  void cancel() override {
    finished_ = true;
    done_ = nullptr;
    release();
  }

 private:
  std::string prefix() const { return "TCP connect " + address_ + ": "; }

  void finish(CheckResult result) {
    if (finished_) return;
    finished_ = true;
    release();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
  }

  void release() {
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    socket_.close(ignored);
  }

  asio::io_context& io_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  std::string address_;
  std::chrono::nanoseconds timeout_;
  ProbeCallback done_;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<Probe> start_tcp_probe(asio::io_context& io, const std::string& address,
                                       std::chrono::nanoseconds timeout, ProbeCallback done) {
  auto probe = std::make_shared<TcpProbe>(io, address, timeout, std::move(done));
  probe->start();
  return probe;
}

}  // namespace roster::checks
