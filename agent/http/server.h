#pragma once

// The HTTP adapter: Boost.Beast sessions that parse requests, call Api, and
// write responses. Blocking queries park on the WatchHub and a timer; nothing
// here knows what an endpoint does.
//
// Thread affinity: the agent runs one io_context thread, which is the core's
// strand; sessions run on it too, so they reach the Api and the store without
// locks. Beast stays inside server.cc.

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster::catalog {
class WatchHub;
}

namespace roster::http {

class Api;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8500;  // 0 picks a free port
  size_t max_header_bytes = 16 * 1024;
  int idle_timeout_seconds = 120;  // a keep-alive connection with no request
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Api& api, catalog::WatchHub& watch_hub, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Errors name the address ("127.0.0.1:8500: address in use").
  Status start();
  uint16_t port() const;  // the bound port, after start()
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace roster::http
