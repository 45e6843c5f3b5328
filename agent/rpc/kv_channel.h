#pragma once

// KvChannel: the catalog KV as the exec driver sees it, one key at a time:
// a blocking read and a write. HttpKvChannel (agent/rpc/http_kv_channel.h)
// speaks the Consul KV API; tests use an in-memory fake
// (tests/fakes/fake_kv_channel.h).
//
// Thread safety: get() and put() are called from one thread (the driver's);
// cancel() may be called from any thread, at any time.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace roster::rpc {

struct KvRead {
  std::optional<std::string> value;  // nullopt: no such key
  uint64_t index = 0;                // X-Consul-Index: the key's (or its table's) modify index
};

class KvChannel {
 public:
  virtual ~KvChannel() = default;
  // A blocking query: returns once the index is past `index`, or after about
  // `wait` with the same index. index 0 returns at once. Errors: unavailable
  // (no catalog reachable; cancelled), or any Status the catalog answered.
  virtual Result<KvRead> get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) = 0;
  virtual Status put(const std::string& key, std::string_view value) = 0;
  // Makes a get() or put() in progress, and every later one, return
  // unavailable at once. For shutdown.
  virtual void cancel() = 0;
};

}  // namespace roster::rpc
