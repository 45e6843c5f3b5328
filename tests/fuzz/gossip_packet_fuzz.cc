// libFuzzer target for the gossip wire format: arbitrary bytes go through
// open_packet / open_push_pull / the keyring channel (envelope, decryption,
// replay check, decompression, decode) as a datagram or push-pull frame from a hostile peer. The properties:
// nothing crashes, leaks or trips a sanitizer; every refusal names a cause;
// and whatever is accepted encodes and decodes back to itself.
//
// Input layout:
//   byte 0   control bits:
//              bit 0  the receiver has a keyring (a fixed test key)
//              bit 1  the receiver keeps a replay filter across inputs
//              bit 2  push-pull path instead of the packet path
//              bit 3  seal first: the rest is a codec payload that is sealed
//                     (encrypted under the keyring when bit 0 is set), so
//                     the decoder is reached behind encryption too
//              bit 4  also feed the bytes through a FrameReader in pieces
//              bit 5  also decode the bytes as keyring messages and open
//                     them as keyring envelopes
//   bytes 1..  the datagram, frame payload or codec payload.
//
// Seeds (one per path) are in tests/fuzz/gossip_corpus/; bench/fuzz.sh 300
// gossip_packet_fuzz builds and runs it. By hand, build as for
// http_api_fuzz (tests/fuzz/CMakeLists.txt), then run on a scratch copy:
//   cp -r tests/fuzz/gossip_corpus /tmp/gc && build-fuzz/tests/fuzz/gossip_packet_fuzz \
//     /tmp/gc -max_total_time=300 -max_len=8192 -rss_limit_mb=2048

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/gossip/wire/codec.h"
#include "agent/gossip/wire/framing.h"
#include "agent/gossip/wire/keyring.h"
#include "agent/gossip/wire/random_source.h"
#include "agent/gossip/wire/replay_filter.h"
#include "agent/gossip/wire/seal.h"

namespace wire = roster::gossip::wire;

namespace {

struct Fixture {
  Fixture() {
    if (!keyring.install(std::string(wire::kKeyBytes, 'k')).is_ok()) std::abort();
  }
  wire::Keyring keyring;
  wire::ReplayFilter replay{1024};
  wire::SeededRandomSource random{1};
  wire::WireCounters counters;
  wire::DecodeLimits limits = [] {
    wire::DecodeLimits small;
    small.max_push_pull_bytes = 1 << 20;  // keeps each input cheap
    return small;
  }();
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

template <typename T, typename Encode, typename Decode>
void check_round_trip(const roster::Result<T>& opened, wire::WireError error, Encode encode, Decode decode) {
  if (!opened.is_ok()) {
    check(error != wire::WireError::none);
    return;
  }
  check(error == wire::WireError::none);
  auto again = decode(encode(*opened));
  check(again.is_ok());
  check(*again == *opened);
}

void fuzz_frames(std::string_view bytes) {
  wire::FrameReader reader(256);
  size_t piece = 1;
  while (!bytes.empty()) {
    const size_t take = std::min(piece, bytes.size());
    if (!reader.feed(bytes.substr(0, take)).is_ok()) return;
    bytes.remove_prefix(take);
    piece = piece * 2 + 1;
    while (true) {
      auto next = reader.next();
      if (!next.is_ok() || !next->has_value()) break;
      check((*next)->size() <= 256);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Fixture& f = fixture();
  const uint8_t control = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const wire::Keyring* keyring = (control & 1) ? &f.keyring : nullptr;
  wire::ReplayFilter* replay = (control & 2) ? &f.replay : nullptr;
  const bool push_pull = control & 4;

  std::string sealed;
  if (control & 8) {
    // Seal the payload as a sender would, then open it: reaches the decoder
    // through the encrypted path.
    wire::Keyring empty;
    const wire::Keyring* sealer = keyring ? keyring : &empty;
    if (push_pull) {
      auto decoded = wire::decode_push_pull(bytes, f.limits);
      if (!decoded.is_ok()) return 0;
      auto result = wire::seal_push_pull(*decoded, sealer, f.random);
      check(result.is_ok());
      sealed = std::move(result).value();
    } else {
      auto result = wire::seal_encoded_packet(bytes, sealer, f.random);
      check(result.is_ok());
      sealed = std::move(result).value();
    }
    bytes = sealed;
  }

  wire::WireError error = wire::WireError::none;
  if (push_pull) {
    auto opened = wire::open_push_pull(bytes, keyring, replay, f.limits, f.counters, &error);
    check_round_trip(opened, error, wire::encode_push_pull,
                     [&](const std::string& encoded) { return wire::decode_push_pull(encoded, f.limits); });
  } else {
    auto opened = wire::open_packet(bytes, keyring, replay, f.limits, f.counters, &error);
    check_round_trip(opened, error, wire::encode_packet,
                     [&](const std::string& encoded) { return wire::decode_packet(encoded, f.limits); });
    if (opened.is_ok()) {
      size_t total = 0;
      for (const auto& message : opened->messages) total += wire::encoded_size(message);
      check(total == wire::encode_packet(*opened).size());
    }
  }
  if (control & 16) fuzz_frames(bytes);
  if (control & 32) {
    // The keyring channel: its decoders directly, and its envelope opened.
    auto request = wire::decode_keyring_request(bytes);
    if (request.is_ok()) check(wire::decode_keyring_request(wire::encode_keyring_request(*request)).is_ok());
    auto reply = wire::decode_keyring_reply(bytes, f.limits);
    if (reply.is_ok()) check(wire::decode_keyring_reply(wire::encode_keyring_reply(*reply), f.limits).is_ok());
    (void)wire::open_keyring_request(bytes, keyring, replay, f.counters, &error);
    (void)wire::open_keyring_reply(bytes, keyring, replay, f.limits, f.counters, &error);
  }
  return 0;
}
