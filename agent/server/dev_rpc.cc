#include "agent/server/dev_rpc.h"

#include <spdlog/spdlog.h>

#include "agent/catalog/codec.h"
#include "agent/core/catalog_backend.h"
#include "agent/raft/transport.h"

namespace roster::agent {

DevRpc::DevRpc(boost::asio::io_context& io, const Clock& clock, CatalogBackend& catalog, DevRpcOptions options,
               rpc::RpcHandler forward)
    : catalog_(catalog), forward_(std::move(forward)) {
  raft::TransportOptions transport;
  transport.cluster_id = options.datacenter;
  transport.local_id = 1;
  transport.bind_ip = options.bind_ip;
  transport.port = options.port;
  transport.rpc_handler = [this, alive = std::weak_ptr<bool>(alive_)](const rpc::CallInfo& caller,
                                                                      const std::string& method, std::string payload,
                                                                      rpc::Reply reply) {
    if (alive.expired()) return reply(Status::unavailable("the agent is shutting down"));
    serve(caller, method, std::move(payload), std::move(reply));
  };
  transport_ = std::make_unique<raft::Transport>(io.get_executor(), clock, spdlog::default_logger(), transport,
                                                 [](raft::Message) {});
}

DevRpc::~DevRpc() {
  *alive_ = false;
  stop();
}

Status DevRpc::start() { return transport_->start(); }
void DevRpc::stop() { transport_->stop(); }
uint16_t DevRpc::port() const { return transport_->port(); }

void DevRpc::serve(const rpc::CallInfo& caller, const std::string& method, std::string payload, rpc::Reply reply) {
  if (method == kReadNodeMethod) return reply(encode_node_record(node_record(*catalog_.replica(), payload)));
  if (method == kApplyMethod) {
    auto command = catalog::decode_command(payload);
    if (!command.is_ok()) {
      spdlog::warn("rpc: Catalog.Apply from {} ({}): not a catalog command: {}", caller.from_node,
                   caller.peer_address, command.status().message());
      return reply(Status::invalid_argument("not a catalog command: " + command.status().message()));
    }
    return catalog_.write(std::move(command->body), [reply = std::move(reply)](Result<catalog::Index> index) {
      if (!index.is_ok()) return reply(index.status());
      reply(encode_applied_index(*index));
    });
  }
  if (forward_) return forward_(caller, method, std::move(payload), std::move(reply));
  reply(Status::invalid_argument("unknown RPC method \"" + method + "\""));
}

}  // namespace roster::agent
