#include "agent/rpc/remote_catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/catalog/codec.h"
#include "agent/rpc/forward_client.h"
#include "agent/rpc/rpc_client.h"

namespace roster::rpc {

RemoteCatalog::RemoteCatalog(boost::asio::io_context& io, const Clock& clock, std::shared_ptr<spdlog::logger> logger,
                             RemoteCatalogOptions options)
    : io_(io), clock_(clock), options_(std::move(options)) {
  RpcClientOptions rpc_options;
  rpc_options.cluster_id = options_.datacenter;
  rpc_options.node_name = options_.node_name;
  rpc_options.connections_per_server = options_.connections_per_server;
  client_ = std::make_unique<RpcClient>(io_.get_executor(), clock_, std::move(logger), rpc_options);
}

RemoteCatalog::~RemoteCatalog() { stop(); }

void RemoteCatalog::stop() { client_->stop(); }

void RemoteCatalog::set_servers(const std::vector<agent::MemberInfo>& servers) {
  std::vector<std::string> addresses;
  for (const agent::MemberInfo& server : servers) {
    if (server.status != agent::MemberStatus::alive || !server.in_cluster || server.server_port == 0) continue;
    addresses.push_back(server.ip + ":" + std::to_string(server.server_port));
  }
  std::sort(addresses.begin(), addresses.end());
  servers_ = std::move(addresses);
  if (std::find(servers_.begin(), servers_.end(), current_) == servers_.end()) current_.clear();
}

// Sticky while it answers; a failed call moves the next one on (see below).
std::string RemoteCatalog::current_server() {
  if (servers_.empty()) return "";
  if (current_.empty()) current_ = servers_[next_++ % servers_.size()];
  return current_;
}

void RemoteCatalog::forward(const http::HttpRequest& request, std::chrono::milliseconds timeout,
                            http::Respond respond) {
  forward_http(
      io_, clock_, *client_, [this] { return current_server(); }, request, timeout, options_.hold_timeout,
      std::move(respond), [this](const Status&) { current_.clear(); });
}

void RemoteCatalog::write(catalog::CommandBody body, WriteDone done) {
  HeldCall call;
  call.pick = [this] { return current_server(); };
  call.method = agent::kApplyMethod;
  call.payload = catalog::encode_command(catalog::Command{clock_.unix_nanos(), std::move(body)});
  call.timeout = options_.hold_timeout;
  call.hold = options_.hold_timeout;
  call.on_unreachable = [this](const Status&) { current_.clear(); };
  call_with_hold(io_, clock_, *client_, std::move(call), [this, done = std::move(done)](Result<std::string> answer) {
    if (!answer.is_ok()) {
      if (answer.status().code() == StatusCode::unavailable) current_.clear();
      if (done) done(answer.status());
      return;
    }
    if (done) done(agent::decode_applied_index(*answer));
  });
}

void RemoteCatalog::write_transaction(catalog::Transaction, TxnDone done) {
  // The API forwards /v1/txn whole; nothing else writes transactions.
  done(TxnResult{Status::invalid_argument("a client agent forwards transactions to the servers"), 0, {}});
}

void RemoteCatalog::read_node(const std::string& node, std::function<void(Result<agent::NodeRecord>)> done) {
  HeldCall call;
  call.pick = [this] { return current_server(); };
  call.method = agent::kReadNodeMethod;
  call.payload = node;
  call.timeout = options_.hold_timeout;
  call.hold = options_.hold_timeout;
  call.idempotent = true;
  call.on_unreachable = [this](const Status&) { current_.clear(); };
  call_with_hold(io_, clock_, *client_, std::move(call), [this, done = std::move(done)](Result<std::string> answer) {
    if (!answer.is_ok()) {
      if (answer.status().code() == StatusCode::unavailable) current_.clear();
      return done(answer.status());
    }
    done(agent::decode_node_record(*answer));
  });
}

}  // namespace roster::rpc
