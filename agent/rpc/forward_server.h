#pragma once

// ForwardServer: a server's side of "Api.Forward". A forwarded HTTP request
// is answered by this server's own Api, exactly as if it had come in over
// HTTP: a blocking query parks here, on this server's watch hub, until its
// data changes or its wait runs out, and only then is the answer sent back.
// So a client agent never polls for a blocking query.
//
// Thread affinity: the agent's io_context thread.
// REQUIRES: `io`, `api` and `watch_hub` outlive it.

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "agent/rpc/rpc.h"

namespace roster::catalog {
class WatchHub;
}

namespace roster::http {
class Api;
}

namespace roster::rpc {

struct ForwardServerStats {
  uint64_t served = 0;
  uint64_t parked = 0;      // currently waiting on the hub
  uint64_t malformed = 0;   // payloads that did not decode
};

class ForwardServer {
 public:
  ForwardServer(boost::asio::io_context& io, http::Api& api, catalog::WatchHub& watch_hub);
  ~ForwardServer();
  ForwardServer(const ForwardServer&) = delete;
  ForwardServer& operator=(const ForwardServer&) = delete;

  void serve(const CallInfo& caller, std::string payload, Reply reply);
  const ForwardServerStats& stats() const { return stats_; }

 private:
  struct Call;
  void step(const std::shared_ptr<Call>& call);

  boost::asio::io_context& io_;
  http::Api& api_;
  catalog::WatchHub& watch_hub_;
  ForwardServerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::rpc
