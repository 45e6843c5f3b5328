#pragma once

// OwnNodeWatch: a client agent's blocking query on its own catalog node, held
// on a server like any other (GET /v1/catalog/node/<self>?index=&wait=), so
// that tags written elsewhere (the operator layer, through any agent) reach
// this node's gossip tags at once. A server needs none: it watches its
// replica (AgentCore::watch_own_node).
//
// Thread affinity: the agent's io_context thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/catalog/types.h"
#include "agent/http/api.h"

namespace roster::rpc {

class OwnNodeWatch {
 public:
  // `query` sends a request to a server and answers through Respond (the
  // client's RemoteCatalog::forward); `on_tags` gets the node's merged tags.
  OwnNodeWatch(boost::asio::io_context& io, std::string node,
               std::function<void(const http::HttpRequest&, http::Respond)> query,
               std::function<void(catalog::TagMap)> on_tags);
  ~OwnNodeWatch();
  void start();
  void stop();

 private:
  void ask();
  void retry_later();

  std::string node_;
  std::function<void(const http::HttpRequest&, http::Respond)> query_;
  std::function<void(catalog::TagMap)> on_tags_;
  boost::asio::steady_timer retry_;
  uint64_t index_ = 0;
  bool running_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::rpc
