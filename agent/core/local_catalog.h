#pragma once

// LocalCatalog: the catalog of a -dev agent, its own single server in memory.
//
// A write is applied at the next index before write() returns, and its
// callback runs then: there is no log to wait for. The agent is always the
// leader, and every read mode is answered at once.
//
// Thread affinity: the agent's io_context thread.

#include <string>

#include "agent/core/catalog_backend.h"
#include "agent/core/catalog_replica.h"
#include "common/clock.h"

namespace roster::agent {

class LocalCatalog final : public CatalogBackend {
 public:
  // `server_address` is the "ip:port" /v1/status/leader reports.
  LocalCatalog(const Clock& clock, std::string server_address);

  void write(catalog::CommandBody body, WriteDone done) override;
  void write_transaction(catalog::Transaction transaction, TxnDone done) override;
  void read_node(const std::string& node, std::function<void(Result<NodeRecord>)> done) override {
    done(node_record(replica_.store(), node));
  }
  const catalog::StateStore* replica() const override { return &replica_.store(); }
  catalog::WatchHub& watch_hub() override { return replica_.watch_hub(); }
  void prepare_read(Consistency mode, std::optional<std::chrono::nanoseconds> max_stale, ReadyDone done) override;
  ReadFreshness freshness() const override { return {}; }
  bool is_leader() const override { return true; }
  std::string leader_address() const override { return server_address_; }
  std::vector<std::string> peer_addresses() const override { return {server_address_}; }

 private:
  const Clock& clock_;
  std::string server_address_;
  CatalogReplica replica_;
};

}  // namespace roster::agent
