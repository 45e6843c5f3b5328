// chaos_forge: sends forged gossip datagrams to one agent, for bench/chaos.py.
// The messages are built and sealed by the agent's own wire library
// (agent/gossip/wire), so they are exactly what a peer without a key could send
// to an unencrypted pool.
//
//   chaos_forge alive --to 127.0.0.1:8301 --name web-7 --id <uuid> --address 127.0.0.1:8302
//               --incarnation 18446744073709551615 --tag role=forged
//   chaos_forge dead  --to 127.0.0.1:8301 --name web-7 --incarnation 18446744073709551615 [--from web-7]
//   chaos_forge flood --to 127.0.0.1:8301 --members 110000 [--per-packet 512] [--pace-us 2000]
//
// `dead` with --from equal to --name (the default) says the node left. `flood`
// bundles up to --per-packet Alive messages for made-up members (names
// chaos-fake-NNNNNN, addresses 127.200.x.y:7 on loopback, where nothing
// answers) into each datagram, and prints how many datagrams it sent.
// Loopback destinations only: anything outside 127.0.0.0/8 is refused.

#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "agent/gossip/messages.h"
#include "agent/gossip/wire/codec.h"
#include "agent/gossip/wire/envelope.h"
#include "agent/gossip/wire/random_source.h"
#include "agent/gossip/wire/seal.h"

namespace {

namespace gossip = roster::gossip;
namespace wire = roster::gossip::wire;

// The receive buffer of the agent's UDP socket (transport.cc) and the codec's packet limit.
constexpr size_t kDatagramBytes = 65000;

class Sender {
 public:
  // REQUIRES: `to` is "a.b.c.d:port" inside 127.0.0.0/8.
  bool open(const std::string& to) {
    auto colon = to.rfind(':');
    if (colon == std::string::npos) return fail("--to must be ip:port: " + to);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(to.substr(colon + 1))));
    if (inet_pton(AF_INET, to.substr(0, colon).c_str(), &address.sin_addr) != 1) return fail("bad address: " + to);
    if ((ntohl(address.sin_addr.s_addr) >> 24) != 127) return fail("refusing a non-loopback destination: " + to);
    to_ = address;
    socket_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (socket_ < 0) return fail("socket() failed");
    return true;
  }
  ~Sender() {
    if (socket_ >= 0) ::close(socket_);
  }

  // Seals one encoded packet without a key and sends it.
  bool send_encoded(const std::string& encoded) {
    auto sealed = wire::seal_encoded_packet(encoded, nullptr, random_);
    if (!sealed.is_ok()) return fail("seal: " + sealed.status().to_string());
    const std::string& bytes = sealed.value();
    ssize_t sent = ::sendto(socket_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to_),
                            sizeof to_);
    if (sent != static_cast<ssize_t>(bytes.size())) return fail("sendto() failed or was short");
    ++datagrams_;
    return true;
  }

  bool send(const std::vector<gossip::Message>& messages) {
    return send_encoded(wire::encode_packet(gossip::Packet{messages}));
  }

  size_t datagrams() const { return datagrams_; }

 private:
  bool fail(const std::string& message) {
    std::fprintf(stderr, "chaos_forge: %s\n", message.c_str());
    return false;
  }

  int socket_ = -1;
  sockaddr_in to_{};
  wire::OpenSslRandomSource random_;
  size_t datagrams_ = 0;
};

gossip::TagMap parse_tags(const std::vector<std::string>& pairs) {
  gossip::TagMap tags;
  for (const std::string& pair : pairs) {
    auto equals = pair.find('=');
    if (equals == std::string::npos) continue;
    tags[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  return tags;
}

std::string fake_id(uint64_t n) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "c4a05000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n % 1000000000000ULL));
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sends forged gossip datagrams to a Roster agent on loopback (bench/chaos.py)."};
  app.require_subcommand(1);
  std::string to;
  const uint64_t max_incarnation = std::numeric_limits<uint64_t>::max();

  auto* alive = app.add_subcommand("alive", "one Alive message for a node, with the given incarnation and tags");
  std::string name, id, address, from;
  uint64_t incarnation = max_incarnation;
  std::vector<std::string> tags;
  alive->add_option("--to", to, "agent gossip address ip:port")->required();
  alive->add_option("--name", name)->required();
  alive->add_option("--id", id, "the node ID the pool knows")->required();
  alive->add_option("--address", address, "the node's gossip ip:port")->required();
  alive->add_option("--incarnation", incarnation)->capture_default_str();
  alive->add_option("--tag", tags, "key=value, repeatable");

  auto* dead = app.add_subcommand("dead", "one Dead message (a leave when --from is the node itself)");
  dead->add_option("--to", to, "agent gossip address ip:port")->required();
  dead->add_option("--name", name)->required();
  dead->add_option("--incarnation", incarnation)->capture_default_str();
  dead->add_option("--from", from, "who reports it; default: the node itself (a leave)");

  auto* flood = app.add_subcommand("flood", "Alive messages for many made-up members, bundled per datagram");
  uint64_t members = 110000;
  size_t per_packet = 512;
  int pace_us = 2000;
  flood->add_option("--to", to, "agent gossip address ip:port")->required();
  flood->add_option("--members", members)->capture_default_str();
  flood->add_option("--per-packet", per_packet, "members per datagram, at most the codec's 512")
      ->capture_default_str();
  flood->add_option("--pace-us", pace_us, "pause between datagrams")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  Sender sender;
  if (!sender.open(to)) return 2;

  if (alive->parsed()) {
    gossip::Member member{name, id, address, incarnation, gossip::MemberState::alive, parse_tags(tags)};
    if (!sender.send({gossip::Alive{member}})) return 1;
  } else if (dead->parsed()) {
    if (from.empty()) from = name;
    if (!sender.send({gossip::Dead{name, incarnation, from}})) return 1;
  } else {
    std::vector<gossip::Message> messages;
    messages.reserve(members);
    for (uint64_t n = 0; n < members; ++n) {
      char member_name[32], member_address[32];
      std::snprintf(member_name, sizeof member_name, "chaos-fake-%06llu", static_cast<unsigned long long>(n));
      std::snprintf(member_address, sizeof member_address, "127.200.%llu.%llu:7",
                    static_cast<unsigned long long>((n / 250) % 250), static_cast<unsigned long long>(n % 250 + 1));
      messages.push_back(gossip::Alive{
          gossip::Member{member_name, fake_id(n), member_address, 1, gossip::MemberState::alive, {{"chaos", "1"}}}});
    }
    // pack() respects the byte budget; the message-count limit is applied by splitting first.
    for (size_t start = 0; start < messages.size(); start += per_packet) {
      std::vector<gossip::Message> chunk(messages.begin() + static_cast<ptrdiff_t>(start),
                                         messages.begin() + static_cast<ptrdiff_t>(std::min(start + per_packet,
                                                                                            messages.size())));
      for (const std::string& encoded : wire::pack(chunk, kDatagramBytes - wire::kPlainOverhead)) {
        if (!sender.send_encoded(encoded)) return 1;
        if (pace_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(pace_us));
      }
    }
  }
  std::printf("sent %zu datagram(s)\n", sender.datagrams());
  return 0;
}
