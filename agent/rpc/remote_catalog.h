#pragma once

// RemoteCatalog: a client agent's catalog, which it does not hold. Writes are
// "Catalog.Apply" RPCs and anti-entropy's reads "Catalog.ReadNode" RPCs to a
// server from the gossip pool (any server: a follower passes writes on to the
// leader); the HTTP API forwards catalog requests whole ("Api.Forward", see
// forward()). While no server can take a request, it is held and retried for
// hold_timeout (Consul's rpc_hold_timeout), so a leader election is not an
// error to the user.
//
// The server asked is kept while it answers and changed when it cannot be
// reached. The agent's own watch hub carries only its local keys.
//
// Thread affinity: the agent's io_context thread.

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/catalog/watch_hub.h"
#include "agent/core/catalog_backend.h"
#include "agent/core/membership.h"
#include "agent/http/api.h"
#include "common/clock.h"

namespace spdlog {
class logger;
}

namespace roster::rpc {

class RpcClient;

struct RemoteCatalogOptions {
  std::string datacenter;  // the servers' cluster ID
  std::string node_name;
  std::chrono::milliseconds hold_timeout{7000};
  size_t connections_per_server = 1;
};

class RemoteCatalog final : public agent::CatalogBackend {
 public:
  RemoteCatalog(boost::asio::io_context& io, const Clock& clock, std::shared_ptr<spdlog::logger> logger,
                RemoteCatalogOptions options);
  ~RemoteCatalog() override;

  // The gossip pool's servers (alive ones with a server port are used).
  void set_servers(const std::vector<agent::MemberInfo>& servers);
  // ApiOptions::forward for this agent: the request goes to a server.
  void forward(const http::HttpRequest& request, std::chrono::milliseconds timeout, http::Respond respond);
  void stop();

  void write(catalog::CommandBody body, WriteDone done) override;
  void write_transaction(catalog::Transaction transaction, TxnDone done) override;
  void read_node(const std::string& node, std::function<void(Result<agent::NodeRecord>)> done) override;
  const catalog::StateStore* replica() const override { return nullptr; }
  catalog::WatchHub& watch_hub() override { return watch_hub_; }
  void prepare_read(agent::Consistency, std::optional<std::chrono::nanoseconds>, ReadyDone done) override {
    done(Status::not_leader("a client agent holds no catalog"));
  }
  agent::ReadFreshness freshness() const override { return {!servers_.empty(), std::chrono::milliseconds(0)}; }
  bool is_leader() const override { return false; }
  std::string leader_address() const override { return ""; }
  std::vector<std::string> peer_addresses() const override { return {}; }

  // The server calls go to now ("" when none is known).
  std::string current_server();

 private:
  boost::asio::io_context& io_;
  const Clock& clock_;
  RemoteCatalogOptions options_;
  std::unique_ptr<RpcClient> client_;
  catalog::WatchHub watch_hub_;
  std::vector<std::string> servers_;  // "ip:port"
  size_t next_ = 0;
  std::string current_;
};

}  // namespace roster::rpc
