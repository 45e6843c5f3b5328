#pragma once

// The sending side of "Api.Forward" and "Catalog.Apply": a call to whichever
// server `pick` names now, held and retried while there is none to name or
// the one asked answers not_leader (it appended nothing) or permission_denied
// (it does not know this node from the gossip pool yet), until `hold` runs
// out (Consul's rpc_hold_timeout). A server that cannot be reached is also
// retried (another may be picked), for a write only when the request never
// left. Any other answer is final: a write whose fate is unknown is never
// sent twice.
//
// Thread affinity: the agent's io_context thread.

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "agent/http/api.h"
#include "agent/rpc/rpc.h"
#include "common/clock.h"

namespace roster::rpc {

class RpcClient;

struct HeldCall {
  std::function<std::string()> pick;  // "ip:port" of the server to ask now, "" when none is known
  std::string method;
  std::string payload;
  std::chrono::milliseconds timeout{0};  // for each attempt's answer
  std::chrono::milliseconds hold{7000};
  // A read may be sent again after any failure to reach a server; a write
  // only when it certainly never left (rpc::never_sent).
  bool idempotent = false;
  // Told when the server picked could not be reached, before the retry (a
  // client agent moves on to another server).
  std::function<void(const Status&)> on_unreachable;
};

void call_with_hold(boost::asio::io_context& io, const Clock& clock, RpcClient& client, HeldCall call, Reply done);

// Api.Forward of `request`, answered as an HTTP response (errors become 503s
// or the server's own status, in Consul's words).
void forward_http(boost::asio::io_context& io, const Clock& clock, RpcClient& client,
                  std::function<std::string()> pick, const http::HttpRequest& request,
                  std::chrono::milliseconds timeout, std::chrono::milliseconds hold, http::Respond respond,
                  std::function<void(const Status&)> on_unreachable = nullptr);

}  // namespace roster::rpc
