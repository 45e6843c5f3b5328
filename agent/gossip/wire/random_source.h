#pragma once

// Where nonces and keys get their randomness. Injected, so tests and the
// simulator can make encryption repeatable.

#include <cstdint>
#include <span>

#include "common/status.h"

namespace roster::gossip::wire {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` entirely or fails.
  virtual Status fill(std::span<unsigned char> out) = 0;
};

// OpenSSL's CSPRNG (RAND_bytes). The one to use in production.
class OpenSslRandomSource final : public RandomSource {
 public:
  Status fill(std::span<unsigned char> out) override;
};

// A seeded, predictable stream (splitmix64), for tests and the simulator
// only. Two sources with the same seed produce the same nonces, and a nonce
// reused under one AES-GCM key breaks the encryption: never seal real
// traffic with it.
class SeededRandomSource final : public RandomSource {
 public:
  explicit SeededRandomSource(uint64_t seed) : state_(seed) {}
  Status fill(std::span<unsigned char> out) override;

 private:
  uint64_t state_;
};

}  // namespace roster::gossip::wire
