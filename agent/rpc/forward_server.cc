#include "agent/rpc/forward_server.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "agent/catalog/watch_hub.h"
#include "agent/http/api.h"
#include "agent/rpc/forward_codec.h"
#include "common/one_shot_timer.h"

namespace roster::rpc {

struct ForwardServer::Call {
  explicit Call(boost::asio::io_context& io) : timer(io) {}
  http::HttpRequest request;
  http::BlockingState blocking;
  Reply reply;
  OneShotTimer timer;
  catalog::WatchHub::WaiterId waiter = 0;
};

ForwardServer::ForwardServer(boost::asio::io_context& io, http::Api& api, catalog::WatchHub& watch_hub)
    : io_(io), api_(api), watch_hub_(watch_hub) {}

ForwardServer::~ForwardServer() { *alive_ = false; }

void ForwardServer::serve(const CallInfo& caller, std::string payload, Reply reply) {
  auto decoded = decode_forwarded_request(payload);
  if (!decoded.is_ok()) {
    ++stats_.malformed;
    spdlog::warn("rpc: Api.Forward from {} ({}): {}", caller.from_node, caller.peer_address,
                 decoded.status().message());
    return reply(decoded.status());
  }
  // The hop count is in the request's headers; the Api refuses to forward
  // it again past http::kMaxForwardHops.
  auto call = std::make_shared<Call>(io_);
  call->request = std::move(decoded).value();
  call->reply = std::move(reply);
  step(call);
}

void ForwardServer::step(const std::shared_ptr<Call>& call) {
  http::HandleResult result = api_.handle(call->request, call->blocking);
  if (!result.wait) {
    ++stats_.served;
    call->reply(encode_forwarded_response(result.response));
    return;
  }
  // Parked, like an HTTP session: whichever comes first, a change to the
  // keys or the deadline, runs the request again.
  ++stats_.parked;
  std::weak_ptr<Call> weak = call;
  std::weak_ptr<bool> alive = alive_;
  call->waiter = watch_hub_.wait(result.wait->watch_keys, [this, weak, alive] {
    auto self = weak.lock();
    if (!self || alive.expired()) return;
    self->waiter = 0;
    self->timer.cancel();
    --stats_.parked;
    boost::asio::post(io_, [this, self, alive] {
      if (!alive.expired()) step(self);
    });
  });
  // The timer's callback owns the call while it is parked.
  call->timer.arm_at(result.wait->deadline, [this, call, alive] {
    if (alive.expired()) return;
    if (call->waiter != 0) watch_hub_.cancel(call->waiter);
    call->waiter = 0;
    --stats_.parked;
    call->blocking.expired = true;
    step(call);
  });
}

}  // namespace roster::rpc
