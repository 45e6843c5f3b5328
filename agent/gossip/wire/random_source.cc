#include "agent/gossip/wire/random_source.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

namespace roster::gossip::wire {

Status OpenSslRandomSource::fill(std::span<unsigned char> out) {
  while (!out.empty()) {
    const size_t chunk = std::min<size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(chunk)) != 1) {
      return Status::internal("the system random source failed (RAND_bytes)");
    }
    out = out.subspan(chunk);
  }
  return Status::ok();
}

Status SeededRandomSource::fill(std::span<unsigned char> out) {
  for (size_t i = 0; i < out.size(); i += 8) {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < out.size(); ++j) out[i + j] = static_cast<unsigned char>(z >> (8 * j));
  }
  return Status::ok();
}

}  // namespace roster::gossip::wire
