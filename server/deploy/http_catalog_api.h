#pragma once

// CatalogApi over a Roster (or Consul) agent's HTTP API, through
// common/http_client.h. Every blocking query is bounded: the request's own
// timeout is its wait plus a margin, so a dead agent is noticed.
//
// Thread-safe: each call is an independent request.

#include <string>

#include "server/deploy/catalog_api.h"

namespace roster::deploy {

class HttpCatalogApi final : public CatalogApi {
 public:
  // `address` is host:port or a URL ("http://127.0.0.1:8500"); `token`, when
  // not empty, is sent as X-Consul-Token.
  explicit HttpCatalogApi(std::string address, std::string token = "");

  Result<NodeList> nodes(uint64_t index, std::chrono::milliseconds wait) override;
  Result<KvTree> kv_tree(const std::string& prefix, uint64_t index, std::chrono::milliseconds wait) override;
  Result<KvTree> kv_get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) override;
  Status kv_put(const std::string& key, const std::string& value) override;
  Status kv_delete(const std::string& key) override;
  Result<std::string> session_create(const std::string& name, std::chrono::seconds ttl,
                                     std::chrono::seconds lock_delay) override;
  Status session_renew(const std::string& session) override;
  Status session_destroy(const std::string& session) override;
  Result<bool> kv_acquire(const std::string& key, const std::string& value, const std::string& session) override;
  Result<bool> kv_release(const std::string& key, const std::string& session) override;

 private:
  Result<KvTree> read_kv(const std::string& key, bool recurse, uint64_t index, std::chrono::milliseconds wait);
  Result<bool> put_bool(const std::string& path_and_query, const std::string& body);

  std::string base_url_;
  std::map<std::string, std::string> headers_;
};

}  // namespace roster::deploy
