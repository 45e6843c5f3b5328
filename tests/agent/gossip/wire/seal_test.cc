#include "agent/gossip/wire/seal.h"

#include <gtest/gtest.h>

#include <random>

#include "agent/gossip/wire/compress.h"
#include "agent/gossip/wire/envelope.h"
#include "tests/agent/gossip/wire/test_messages.h"

namespace roster::gossip::wire {
namespace {

using testing::every_message;
using testing::sample_member;

std::string key_of(char fill) { return std::string(kKeyBytes, fill); }

Keyring keyring_with(std::initializer_list<char> fills) {
  Keyring keyring;
  for (char fill : fills) EXPECT_TRUE(keyring.install(key_of(fill)).is_ok());
  return keyring;
}

class SealTest : public ::testing::Test {
 protected:
  // Opens `datagram` expecting a drop for `expected`, with exactly that
  // counter, and no other, moving by one.
  Status expect_dropped(std::string_view datagram, const Keyring* keyring, WireError expected,
                        ReplayFilter* replay = nullptr) {
    const WireCounters before = counters_;
    WireError error = WireError::none;
    auto packet = open_packet(datagram, keyring, replay, limits_, counters_, &error);
    EXPECT_FALSE(packet.is_ok()) << "expected " << wire_error_name(expected);
    if (packet.is_ok()) return Status::ok();
    EXPECT_EQ(error, expected) << packet.status().to_string();
    EXPECT_EQ(counters_.total(), before.total() + 1) << packet.status().to_string();
    EXPECT_EQ(counters_.get(expected), before.get(expected) + 1) << packet.status().to_string();
    return packet.status();
  }

  Result<Packet> open(std::string_view datagram, const Keyring* keyring, ReplayFilter* replay = nullptr) {
    return open_packet(datagram, keyring, replay, limits_, counters_);
  }

  std::string seal(const Packet& packet, const Keyring* keyring) {
    auto sealed = seal_packet(packet, keyring, random_);
    EXPECT_TRUE(sealed.is_ok());
    return sealed.is_ok() ? *sealed : std::string();
  }

  DecodeLimits limits_;
  WireCounters counters_;
  SeededRandomSource random_{42};
  const Packet packet_{every_message()};
};

TEST_F(SealTest, PlainAndEncryptedPacketsRoundTrip) {
  Keyring keyring = keyring_with({'a'});
  for (const Keyring* ring : std::initializer_list<const Keyring*>{nullptr, &keyring}) {
    const std::string sealed = seal(packet_, ring);
    EXPECT_EQ(sealed.size(), encode_packet(packet_).size() + seal_overhead(ring));
    EXPECT_EQ(static_cast<uint8_t>(sealed[0]),
              static_cast<uint8_t>(ring ? EnvelopeKind::encrypted_packet : EnvelopeKind::plain_packet));
    WireError error = WireError::garbage;
    auto opened = open_packet(sealed, ring, nullptr, limits_, counters_, &error);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    EXPECT_EQ(*opened, packet_);
    EXPECT_EQ(error, WireError::none);
  }
  // An empty keyring means encryption is off.
  Keyring empty;
  EXPECT_TRUE(open(seal(packet_, &empty), &empty).is_ok());
  EXPECT_EQ(counters_.total(), 0u);
}

TEST_F(SealTest, PackedPacketsFitTheDatagramAfterSealing) {
  Keyring keyring = keyring_with({'a'});
  std::vector<Message> messages;
  for (int i = 0; i < 40; ++i) messages.push_back(Alive{sample_member("node-" + std::to_string(i))});
  const size_t datagram_limit = 1400;
  auto packets = pack(messages, datagram_limit - seal_overhead(&keyring));
  ASSERT_GT(packets.size(), 1u);
  size_t opened_messages = 0;
  for (const auto& encoded : packets) {
    auto sealed = seal_encoded_packet(encoded, &keyring, random_);
    ASSERT_TRUE(sealed.is_ok());
    EXPECT_LE(sealed->size(), datagram_limit);
    auto opened = open(*sealed, &keyring);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    opened_messages += opened->messages.size();
  }
  EXPECT_EQ(opened_messages, messages.size());
}

TEST_F(SealTest, TruncatedAtEveryOffsetIsDroppedAsTruncated) {
  Keyring keyring = keyring_with({'a'});
  for (const Keyring* ring : std::initializer_list<const Keyring*>{nullptr, &keyring}) {
    const std::string sealed = seal(packet_, ring);
    for (size_t length = 0; length < sealed.size(); ++length) {
      SCOPED_TRACE("length " + std::to_string(length) + (ring ? " encrypted" : " plain"));
      (void)expect_dropped(std::string_view(sealed).substr(0, length), ring, WireError::truncated);
    }
  }
}

TEST_F(SealTest, TrailingBytesAndUnknownEnvelopesAreGarbage) {
  (void)expect_dropped(seal(packet_, nullptr) + "x", nullptr, WireError::garbage);
  std::string sealed = seal(packet_, nullptr);
  for (uint8_t kind : {0x00, 0x05, 0x7f, 0xff}) {
    sealed[0] = static_cast<char>(kind);
    (void)expect_dropped(sealed, nullptr, WireError::garbage);
  }
  // A push-pull envelope on the packet path.
  auto push_pull = seal_push_pull(PushPull{false, {sample_member()}}, nullptr, random_);
  ASSERT_TRUE(push_pull.is_ok());
  (void)expect_dropped(*push_pull, nullptr, WireError::garbage);
  // An encrypted envelope too short for its nonce and tag.
  Keyring keyring = keyring_with({'a'});
  (void)expect_dropped(envelope_header(EnvelopeKind::encrypted_packet, 3) + "abc", &keyring, WireError::garbage);
  // A plain envelope around bytes that are no packet.
  (void)expect_dropped(envelope_header(EnvelopeKind::plain_packet, 3) + "\x0a\x05z", nullptr, WireError::garbage);
}

TEST_F(SealTest, RandomGarbageIsDroppedAndCounted) {
  std::mt19937_64 random(20261122);
  Keyring keyring = keyring_with({'a'});
  const size_t inputs = 20000;
  for (size_t i = 0; i < inputs; ++i) {
    std::string bytes(random() % 1500, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(random());
    const Keyring* ring = (i % 2) ? &keyring : nullptr;
    EXPECT_FALSE(open(bytes, ring).is_ok());
  }
  EXPECT_EQ(counters_.total(), inputs);
  EXPECT_EQ(counters_.unknown_type + counters_.replayed + counters_.oversized, 0u);
}

TEST_F(SealTest, MutatedPacketsNeverCrashAndAreCountedWhenDropped) {
  std::mt19937_64 random(7);
  Keyring keyring = keyring_with({'a'});
  for (const Keyring* ring : std::initializer_list<const Keyring*>{nullptr, &keyring}) {
    const std::string sealed = seal(packet_, ring);
    size_t dropped = 0;
    size_t unknown_drops = 0;
    const WireCounters before = counters_;
    for (int i = 0; i < 5000; ++i) {
      std::string bytes = sealed;
      for (int flips = 1 + static_cast<int>(random() % 3); flips > 0; --flips) {
        bytes[random() % bytes.size()] ^= static_cast<char>(1 + random() % 255);
      }
      WireError error = WireError::none;
      auto opened = open_packet(bytes, ring, nullptr, limits_, counters_, &error);
      if (!opened.is_ok()) {
        ++dropped;
        if (error == WireError::unknown_type) ++unknown_drops;
        EXPECT_NE(error, WireError::none);
      }
    }
    // Every drop counts once, except that unknown-type drops count messages.
    EXPECT_EQ(counters_.total() - before.total() - (counters_.unknown_type - before.unknown_type),
              dropped - unknown_drops);
    // Encrypted packets are authenticated: no mutation gets through.
    if (ring) {
      EXPECT_EQ(dropped, 5000u);
    }
  }
}

TEST_F(SealTest, OversizedDatagramIsDroppedBeforeItIsParsed) {
  limits_.max_packet_bytes = 512;
  Packet big;
  for (uint32_t i = 0; i < 100; ++i) big.messages.push_back(Ack{i, "web-2"});
  (void)expect_dropped(seal(big, nullptr), nullptr, WireError::oversized);
  Keyring keyring = keyring_with({'a'});
  (void)expect_dropped(seal(big, &keyring), &keyring, WireError::oversized);
  (void)expect_dropped(std::string(100000, '\x01'), nullptr, WireError::oversized);
  limits_.max_messages = 3;
  (void)expect_dropped(seal(Packet{{Ack{}, Ack{}, Ack{}, Ack{}}}, nullptr), nullptr, WireError::oversized);
  Member member = sample_member(std::string(limits_.max_name_bytes + 1, 'n'));
  (void)expect_dropped(seal(Packet{{Alive{member}}}, nullptr), nullptr, WireError::oversized);
}

TEST_F(SealTest, UnknownMessageTypesAreCountedAndTheRestKept) {
  const std::string unknown_record("\x0a\x03\x98\x06\x01", 5);
  const std::string ack = encode_packet(Packet{{Ack{1, "web-2"}}});
  const std::string mixed = envelope_header(EnvelopeKind::plain_packet, ack.size() + 2 * unknown_record.size()) +
                            unknown_record + ack + unknown_record;
  auto opened = open(mixed, nullptr);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->messages, (std::vector<Message>{Ack{1, "web-2"}}));
  EXPECT_EQ(counters_.unknown_type, 2u);

  Status status = expect_dropped(envelope_header(EnvelopeKind::plain_packet, unknown_record.size()) + unknown_record,
                                 nullptr, WireError::unknown_type);
  EXPECT_EQ(status.message(), "unknown message type");

  // Also behind encryption.
  Keyring keyring = keyring_with({'a'});
  auto sealed = seal_encoded_packet(unknown_record, &keyring, random_);
  ASSERT_TRUE(sealed.is_ok());
  (void)expect_dropped(*sealed, &keyring, WireError::unknown_type);
}

TEST_F(SealTest, WrongKeyIsRefusedWithAnExplanation) {
  Keyring ours = keyring_with({'a'});
  Keyring theirs = keyring_with({'b'});
  Status status = expect_dropped(seal(packet_, &theirs), &ours, WireError::wrong_key);
  EXPECT_EQ(status.code(), StatusCode::permission_denied);
  EXPECT_EQ(status.message(), "no installed key decrypts this packet; is the -encrypt key the same on all nodes?");
  // Encrypted traffic at a node that has no key.
  status = expect_dropped(seal(packet_, &theirs), nullptr, WireError::wrong_key);
  EXPECT_NE(status.message().find("encryption is not enabled"), std::string::npos);
}

TEST_F(SealTest, PlainPacketsAreRefusedOnceAKeyIsSet) {
  Keyring keyring = keyring_with({'a'});
  Status status = expect_dropped(seal(packet_, nullptr), &keyring, WireError::plain_refused);
  EXPECT_EQ(status, Status::permission_denied("plain packet refused: encryption is enabled"));
}

TEST_F(SealTest, ReplayedPacketsAreDropped) {
  Keyring keyring = keyring_with({'a'});
  ReplayFilter replay(64);
  const std::string sealed = seal(packet_, &keyring);
  ASSERT_TRUE(open(sealed, &keyring, &replay).is_ok());
  Status status = expect_dropped(sealed, &keyring, WireError::replayed, &replay);
  EXPECT_NE(status.message().find("replayed"), std::string::npos);
  (void)expect_dropped(sealed, &keyring, WireError::replayed, &replay);
  // A fresh seal of the same packet is not a replay.
  EXPECT_TRUE(open(seal(packet_, &keyring), &keyring, &replay).is_ok());
  // Forged envelopes never enter the filter.
  std::string forged = sealed;
  forged.back() ^= 1;
  (void)expect_dropped(forged, &keyring, WireError::wrong_key, &replay);
  EXPECT_EQ(replay.size(), 2u);
}

TEST_F(SealTest, KeyRotationWithoutDowntime) {
  Keyring sender = keyring_with({'o'});
  Keyring receiver = keyring_with({'o'});
  const std::string old_sealed = seal(packet_, &sender);

  // Step 1: install the new key everywhere. Old-key traffic still flows.
  ASSERT_TRUE(sender.install(key_of('n')).is_ok());
  ASSERT_TRUE(receiver.install(key_of('n')).is_ok());
  EXPECT_TRUE(open(seal(packet_, &sender), &receiver).is_ok());

  // Step 2: the sender switches first; the receiver, still on the old
  // primary, opens both.
  ASSERT_TRUE(sender.use(key_of('n')).is_ok());
  const std::string new_sealed = seal(packet_, &sender);
  EXPECT_TRUE(open(new_sealed, &receiver).is_ok());
  EXPECT_TRUE(open(old_sealed, &receiver).is_ok());
  ASSERT_TRUE(receiver.use(key_of('n')).is_ok());
  EXPECT_TRUE(open(old_sealed, &receiver).is_ok());  // old key still installed
  EXPECT_EQ(counters_.total(), 0u);

  // Step 3: remove the old key. Old-key traffic is refused; new flows.
  ASSERT_TRUE(receiver.remove(key_of('o')).is_ok());
  (void)expect_dropped(old_sealed, &receiver, WireError::wrong_key);
  EXPECT_TRUE(open(new_sealed, &receiver).is_ok());
}

TEST_F(SealTest, PushPullRoundTripsAndIsCheckedLikePackets) {
  PushPull push_pull{true, {}};
  for (int i = 0; i < 200; ++i) push_pull.members.push_back(sample_member("node-" + std::to_string(i)));
  Keyring keyring = keyring_with({'a'});
  ReplayFilter replay;
  for (const Keyring* ring : std::initializer_list<const Keyring*>{nullptr, &keyring}) {
    auto sealed = seal_push_pull(push_pull, ring, random_);
    ASSERT_TRUE(sealed.is_ok());
    auto opened = open_push_pull(*sealed, ring, &replay, limits_, counters_);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    EXPECT_EQ(*opened, push_pull);
  }
  EXPECT_EQ(counters_.total(), 0u);

  auto plain = seal_push_pull(push_pull, nullptr, random_);
  ASSERT_TRUE(plain.is_ok());
  WireError error = WireError::none;
  EXPECT_FALSE(open_push_pull(*plain, &keyring, nullptr, limits_, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::plain_refused);
  EXPECT_FALSE(open_push_pull(plain->substr(0, plain->size() - 1), nullptr, nullptr, limits_, counters_, &error)
                   .is_ok());
  EXPECT_EQ(error, WireError::truncated);
  // A packet envelope on the push-pull path.
  EXPECT_FALSE(open_push_pull(seal(packet_, nullptr), nullptr, nullptr, limits_, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::garbage);
  limits_.max_members = 10;
  EXPECT_FALSE(open_push_pull(*plain, nullptr, nullptr, limits_, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::oversized);
  EXPECT_EQ(counters_.total(), 4u);
}

TEST_F(SealTest, PushPullIsCompressedAndUncompressedEnvelopesStillOpen) {
  PushPull push_pull{false, {}};
  for (int i = 0; i < 200; ++i) push_pull.members.push_back(sample_member("node-" + std::to_string(i)));
  const std::string encoded = encode_push_pull(push_pull);
  auto sealed = seal_push_pull(push_pull, nullptr, random_);
  ASSERT_TRUE(sealed.is_ok());
  EXPECT_EQ(static_cast<EnvelopeKind>((*sealed)[0]), EnvelopeKind::plain_compressed_push_pull);
  EXPECT_LT(sealed->size() * 2, encoded.size()) << "sealed " << sealed->size() << " of " << encoded.size();

  // An uncompressed push-pull (the first wire version) is still accepted.
  const std::string uncompressed = envelope_header(EnvelopeKind::plain_push_pull, encoded.size()) + encoded;
  auto opened = open_push_pull(uncompressed, nullptr, nullptr, limits_, counters_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, push_pull);
  EXPECT_EQ(counters_.total(), 0u);
}

TEST_F(SealTest, BadCompressedPushPullIsDroppedAndCounted) {
  auto open_raw = [&](EnvelopeKind kind, const std::string& payload, WireError& error) {
    return open_push_pull(envelope_header(kind, payload.size()) + payload, nullptr, nullptr, limits_, counters_,
                          &error);
  };
  WireError error = WireError::none;
  // A compression bomb: a few KiB that would expand past the push-pull limit.
  limits_.max_push_pull_bytes = 1 << 20;
  const std::string bomb = compress(std::string(4 << 20, '\0'));
  EXPECT_FALSE(open_raw(EnvelopeKind::plain_compressed_push_pull, bomb, error).is_ok());
  EXPECT_EQ(error, WireError::oversized);
  EXPECT_EQ(counters_.oversized, 1u);
  // Not a zlib stream, and a zlib stream cut short.
  EXPECT_FALSE(open_raw(EnvelopeKind::plain_compressed_push_pull, "garbage!", error).is_ok());
  EXPECT_EQ(error, WireError::garbage);
  const std::string good = compress(encode_push_pull(PushPull{false, {sample_member()}}));
  EXPECT_FALSE(open_raw(EnvelopeKind::plain_compressed_push_pull, good.substr(0, good.size() / 2), error).is_ok());
  EXPECT_EQ(error, WireError::garbage);
  EXPECT_EQ(counters_.garbage, 2u);
  // Well compressed, but not a push-pull inside.
  EXPECT_FALSE(open_raw(EnvelopeKind::plain_compressed_push_pull, compress("\xff\xff\xff"), error).is_ok());
  EXPECT_EQ(error, WireError::garbage);
  EXPECT_EQ(counters_.total(), 4u);
}

TEST_F(SealTest, KeyringMessagesTravelEncryptedOnly) {
  Keyring keyring = keyring_with({'a'});
  ReplayFilter replay;
  const KeyringRequest request{KeyringOp::install, key_of('b')};
  auto sealed = seal_keyring_request(request, &keyring, random_);
  ASSERT_TRUE(sealed.is_ok()) << sealed.status().to_string();
  EXPECT_EQ(static_cast<EnvelopeKind>((*sealed)[0]), EnvelopeKind::encrypted_keyring);
  auto opened = open_keyring_request(*sealed, &keyring, &replay, counters_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, request);
  // A replay of the same request is refused.
  WireError error = WireError::none;
  EXPECT_FALSE(open_keyring_request(*sealed, &keyring, &replay, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::replayed);

  const KeyringReply reply{"node-1", false, "cannot remove the primary key", {key_of('a'), key_of('b')}};
  auto sealed_reply = seal_keyring_reply(reply, &keyring, random_);
  ASSERT_TRUE(sealed_reply.is_ok());
  auto opened_reply = open_keyring_reply(*sealed_reply, &keyring, nullptr, limits_, counters_);
  ASSERT_TRUE(opened_reply.is_ok()) << opened_reply.status().to_string();
  EXPECT_EQ(*opened_reply, reply);

  // Without keys nothing is sent, and nothing is accepted.
  EXPECT_EQ(seal_keyring_request(request, nullptr, random_).status().code(), StatusCode::unavailable);
  EXPECT_FALSE(open_keyring_request(*sealed, nullptr, nullptr, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::wrong_key);
  // A keyring envelope is no packet, and a packet is no keyring request.
  (void)expect_dropped(*sealed, &keyring, WireError::garbage);
  EXPECT_FALSE(open_keyring_request(seal(packet_, &keyring), &keyring, nullptr, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::garbage);
  // A reply where a request is expected.
  auto reply_again = seal_keyring_reply(reply, &keyring, random_);
  ASSERT_TRUE(reply_again.is_ok());
  EXPECT_FALSE(open_keyring_request(*reply_again, &keyring, nullptr, counters_, &error).is_ok());
  EXPECT_EQ(error, WireError::garbage);
}

TEST_F(SealTest, MalformedKeyringMessagesAreGarbage) {
  // A key that is not 32 bytes, a list that carries a key, a reply without a node.
  EXPECT_FALSE(decode_keyring_request(encode_keyring_request({KeyringOp::use, "short"})).is_ok());
  EXPECT_FALSE(decode_keyring_request(encode_keyring_request({KeyringOp::list, key_of('a')})).is_ok());
  EXPECT_TRUE(decode_keyring_request(encode_keyring_request({KeyringOp::list, ""})).is_ok());
  EXPECT_FALSE(decode_keyring_reply(encode_keyring_reply({"", true, "", {}}), limits_).is_ok());
  EXPECT_FALSE(decode_keyring_reply(encode_keyring_reply({"n", true, "", {"short"}}), limits_).is_ok());
  DecodeReport report;
  EXPECT_FALSE(decode_keyring_request("\xff\xff\xff", &report).is_ok());
  EXPECT_EQ(report.error, WireError::garbage);
  EXPECT_FALSE(decode_keyring_request(std::string(kMaxKeyringBytes + 1, 'x'), &report).is_ok());
  EXPECT_EQ(report.error, WireError::oversized);
}

}  // namespace
}  // namespace roster::gossip::wire
