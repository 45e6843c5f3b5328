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

namespace roster {
class Clock;
}

namespace roster::catalog {
class WatchHub;
}

namespace roster::metrics {
class Registry;
}

namespace roster::http {

class Api;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8500;  // 0 picks a free port
  size_t max_header_bytes = 16 * 1024;
  int idle_timeout_seconds = 120;  // a keep-alive connection with no request
  // Consul's http_max_conns_per_client: connections one client address may
  // hold open at once; the next one is answered 429 and closed. 0: no limit.
  size_t max_conns_per_client = 200;
  // Bytes of responses written but not yet taken by their clients, across all
  // connections. A response that would pass it is replaced by a 503, so
  // clients that never read cannot make the agent hold their answers.
  // Responses of 16 KiB or less (errors among them) are always sent.
  size_t max_unsent_response_bytes = 64 * 1024 * 1024;
  // Where requests are counted and timed (roster.http.requests by method and
  // status code, roster.http.request_duration_seconds by method and route),
  // and where ServerStats is published (roster.http.*). Not owned; must
  // outlive the server. Null: nothing is measured.
  metrics::Registry* metrics = nullptr;
  // Times requests, from the whole request read to its answer handed to the
  // socket (so a blocking query's wait is included). Not owned. Null: the
  // steady clock.
  const Clock* clock = nullptr;
};

// What the adapter holds and has refused. Read on the server's thread.
struct ServerStats {
  size_t open_connections = 0;
  size_t unsent_response_bytes = 0;
  uint64_t refused_per_client_limit = 0;   // connections answered 429
  uint64_t refused_unsent_limit = 0;       // responses replaced by a 503
  uint64_t shed_before_building = 0;       // of those, reads refused before their answer was built
  uint64_t accept_failures = 0;            // failed accepts (EMFILE and the like)
  uint64_t abandoned_waits = 0;            // parked requests whose client went away
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
  // REQUIRES: on the io_context's thread.
  ServerStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  uint64_t collector_id_ = 0;  // in ServerOptions::metrics, when set
};

}  // namespace roster::http
