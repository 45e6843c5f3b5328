#pragma once

// Why a datagram or push-pull was dropped, and the counters the transport
// keeps of it (shown by `roster info` and the metrics endpoint).

#include <cstdint>

namespace roster::gossip::wire {

enum class WireError : uint8_t {
  none = 0,
  truncated,      // shorter than its envelope says
  garbage,        // not a gossip envelope, or a payload that does not parse or validate
  oversized,      // bigger than a limit: bytes, messages, members, name, tag map
  unknown_type,   // a message type this version does not know
  wrong_key,      // encrypted, but no installed key opens it (or no keyring at all)
  plain_refused,  // plain, but encryption is enabled here
  replayed,       // an encrypted envelope already seen
};

// "truncated", "garbage", ... for logs and `roster info`.
const char* wire_error_name(WireError error);

// Dropped inputs by cause. Every counter counts whole datagrams or push-pull
// frames, except `unknown_type`, which counts messages: a packet that mixes
// known and unknown messages keeps the known ones (rolling upgrades), and its
// unknown ones are counted here.
struct WireCounters {
  uint64_t truncated = 0;
  uint64_t garbage = 0;
  uint64_t oversized = 0;
  uint64_t unknown_type = 0;
  uint64_t wrong_key = 0;
  uint64_t plain_refused = 0;
  uint64_t replayed = 0;

  // Adds `count` to the counter for `error`; `none` counts nothing.
  void add(WireError error, uint64_t count = 1);
  uint64_t get(WireError error) const;
  uint64_t total() const;
  bool operator==(const WireCounters&) const = default;
};

}  // namespace roster::gossip::wire
