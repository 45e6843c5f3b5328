#pragma once

// HttpKvChannel: KvChannel over a catalog's HTTP API (Consul's /v1/kv), on
// Boost.Beast with a private io_context per request, so a request can be
// cancelled from another thread (shutdown) instead of holding it for the
// length of a blocking query.
//
// Which catalog: `catalog_addresses` is asked before each request for the
// host:port candidates in order of preference (a server agent: its own HTTP
// API; a client agent: the servers it knows from the gossip pool). After a
// failed request the channel moves to the next candidate, so a dead server is
// left behind at once.
//
// (Beast rather than common/http_client.h: roster-agent keeps cpprestsdk out
// of its binary, see agent/agent_main.cc.)
//
// Thread safety: as KvChannel.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "agent/rpc/kv_channel.h"

namespace boost::asio {
class io_context;
}

namespace roster::rpc {

class HttpKvChannel final : public KvChannel {
 public:
  using AddressSource = std::function<std::vector<std::string>()>;

  // `request_timeout` bounds a put() and what a get() waits beyond `wait`.
  explicit HttpKvChannel(AddressSource catalog_addresses,
                         std::chrono::milliseconds request_timeout = std::chrono::seconds(10));

  Result<KvRead> get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) override;
  Status put(const std::string& key, std::string_view value) override;
  void cancel() override;

  // The candidate the last request went to ("" before the first).
  std::string current_address() const;

 private:
  struct Response {
    int status = 0;
    std::string body;
    uint64_t index = 0;
  };
  Result<Response> request(const std::string& method, const std::string& target, std::string_view body,
                           std::chrono::milliseconds timeout);
  Result<Response> send(const std::string& address, const std::string& method, const std::string& target,
                        std::string_view body, std::chrono::milliseconds timeout);

  AddressSource catalog_addresses_;
  std::chrono::milliseconds request_timeout_;
  mutable std::mutex mutex_;
  boost::asio::io_context* in_flight_ = nullptr;  // guarded by mutex_
  bool cancelled_ = false;                        // guarded by mutex_
  size_t next_candidate_ = 0;                     // driver thread only
  std::string current_;                           // guarded by mutex_
};

// "/v1/kv/" + `key` with each path segment percent-encoded.
std::string kv_path(const std::string& key);

}  // namespace roster::rpc
