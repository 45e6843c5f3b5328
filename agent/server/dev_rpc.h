#pragma once

// DevRpc: the server port of a -dev agent. A -dev agent is its own single
// server, in memory, without Raft; client agents that join it still reach
// its catalog the way they reach a cluster's: "Catalog.Apply",
// "Catalog.ReadNode" and "Api.Forward" on the server port. The port is the
// Raft transport's listener, with no Raft peers, serving RPC only.
//
// Thread affinity: the agent's io_context thread.

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "agent/rpc/rpc.h"
#include "common/clock.h"
#include "common/status.h"

namespace roster::raft {
class Transport;
}

namespace roster::agent {

class CatalogBackend;

struct DevRpcOptions {
  std::string datacenter;  // the cluster ID client agents send
  std::string bind_ip = "127.0.0.1";
  uint16_t port = 8300;  // 0 picks a free port
};

class DevRpc {
 public:
  // `forward` serves "Api.Forward" (the agent's ForwardServer).
  DevRpc(boost::asio::io_context& io, const Clock& clock, CatalogBackend& catalog, DevRpcOptions options,
         rpc::RpcHandler forward);
  ~DevRpc();
  Status start();
  void stop();
  uint16_t port() const;

 private:
  void serve(const rpc::CallInfo& caller, const std::string& method, std::string payload, rpc::Reply reply);

  CatalogBackend& catalog_;
  rpc::RpcHandler forward_;
  std::unique_ptr<raft::Transport> transport_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::agent
