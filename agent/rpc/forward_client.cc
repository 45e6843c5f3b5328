#include "agent/rpc/forward_client.h"

#include <boost/asio/steady_timer.hpp>

#include <memory>

#include "agent/rpc/forward_codec.h"
#include "agent/rpc/rpc_client.h"

namespace roster::rpc {

namespace {

constexpr auto kRetryEvery = std::chrono::milliseconds(100);

struct Attempt : std::enable_shared_from_this<Attempt> {
  Attempt(boost::asio::io_context& io, const Clock& clock, RpcClient& client, HeldCall call, Reply done)
      : io(io), clock(clock), client(client), call(std::move(call)), done(std::move(done)), timer(io),
        deadline(clock.now() + this->call.hold) {}

  void run() {
    const std::string server = call.pick();
    if (server.empty()) return later(Status::unavailable("No cluster leader"));
    client.call(server, call.method, call.payload, call.timeout,
                [self = shared_from_this()](Result<std::string> answer) {
                  if (!answer.is_ok()) {
                    const Status& status = answer.status();
                    const bool unreachable = status.code() == StatusCode::unavailable &&
                                             (self->call.idempotent || never_sent(status));
                    // not_leader and permission_denied (the server has not yet heard
                    // of this node through gossip) are refusals before anything ran.
                    if (status.code() == StatusCode::not_leader || status.code() == StatusCode::permission_denied ||
                        unreachable) {
                      if (self->call.on_unreachable && unreachable) self->call.on_unreachable(status);
                      return self->later(status);
                    }
                  }
                  self->done(std::move(answer));
                });
  }

  void later(Status why) {
    if (clock.now() + kRetryEvery >= deadline) return done(std::move(why));
    timer.expires_after(kRetryEvery);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error) return self->done(Status::unavailable("the agent is shutting down"));
      self->run();
    });
  }

  boost::asio::io_context& io;
  const Clock& clock;
  RpcClient& client;
  HeldCall call;
  Reply done;
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline;
};

}  // namespace

void call_with_hold(boost::asio::io_context& io, const Clock& clock, RpcClient& client, HeldCall call, Reply done) {
  std::make_shared<Attempt>(io, clock, client, std::move(call), std::move(done))->run();
}

void forward_http(boost::asio::io_context& io, const Clock& clock, RpcClient& client,
                  std::function<std::string()> pick, const http::HttpRequest& request,
                  std::chrono::milliseconds timeout, std::chrono::milliseconds hold, http::Respond respond,
                  std::function<void(const Status&)> on_unreachable) {
  HeldCall call;
  call.pick = std::move(pick);
  call.method = kForwardMethod;
  call.payload = encode_forwarded_request(request);
  call.timeout = timeout;
  call.hold = hold;
  call.idempotent = request.method == "GET" || request.method == "HEAD";
  call.on_unreachable = std::move(on_unreachable);
  call_with_hold(io, clock, client, std::move(call), [respond = std::move(respond)](Result<std::string> answer) {
    if (!answer.is_ok()) {
      const Status& status = answer.status();
      // No leader within the hold time, or a server that could not be
      // reached: Consul answers both 500 "No cluster leader"; a 503 tells
      // clients to retry.
      return respond(http::HttpResponse::error(503, status.message()));
    }
    auto response = decode_forwarded_response(*answer);
    if (!response.is_ok()) return respond(http::HttpResponse::error(502, response.status().message()));
    respond(std::move(response).value());
  });
}

}  // namespace roster::rpc
