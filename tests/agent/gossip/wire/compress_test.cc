#include "agent/gossip/wire/compress.h"

#include <gtest/gtest.h>

#include <random>

namespace roster::gossip::wire {
namespace {

std::string mixed_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string out;
  out.reserve(size);
  while (out.size() < size) {
    // Runs of repeated text between random bytes, like member records.
    if (random() % 2) {
      out += "127.0.1." + std::to_string(random() % 256) + ":8301role=web";
    } else {
      out.push_back(static_cast<char>(random()));
    }
  }
  out.resize(size);
  return out;
}

TEST(CompressTest, RoundTripsEmptySmallAndLargeInputs) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{70'000}, size_t{3'000'000}}) {
    SCOPED_TRACE(size);
    const std::string original = mixed_bytes(size, size);
    const std::string compressed = compress(original);
    auto restored = decompress(compressed, original.size());
    ASSERT_TRUE(restored.is_ok()) << restored.status().to_string();
    EXPECT_EQ(*restored, original);
  }
}

TEST(CompressTest, RepetitiveMemberStateShrinks) {
  std::string state;
  for (int i = 0; i < 200; ++i) state += "node-" + std::to_string(i) + " 127.0.1." + std::to_string(i) + ":8301 role=web az=z1 ";
  EXPECT_LT(compress(state).size() * 3, state.size());
}

TEST(CompressTest, ACompressionBombStopsAtTheLimit) {
  const std::string bomb = compress(std::string(64 * 1024 * 1024, '\0'));
  ASSERT_LT(bomb.size(), 128u * 1024);
  auto result = decompress(bomb, 1024 * 1024);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::too_large) << result.status().to_string();
  // Exactly at the limit is fine; one byte short of it is not.
  const std::string exact = compress(std::string(4096, 'a'));
  EXPECT_TRUE(decompress(exact, 4096).is_ok());
  EXPECT_EQ(decompress(exact, 4095).status().code(), StatusCode::too_large);
}

TEST(CompressTest, TruncatedCorruptAndTrailingBytesAreRefused) {
  const std::string compressed = compress(mixed_bytes(5000, 7));
  for (size_t length = 0; length < compressed.size(); ++length) {
    SCOPED_TRACE(length);
    auto result = decompress(std::string_view(compressed).substr(0, length), 1 << 20);
    ASSERT_FALSE(result.is_ok());
    EXPECT_EQ(result.status().code(), StatusCode::invalid_argument);
  }
  std::string bad_checksum = compressed;
  bad_checksum.back() ^= 0x01;
  EXPECT_EQ(decompress(bad_checksum, 1 << 20).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(decompress(compressed + "x", 1 << 20).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(decompress("not a zlib stream", 1 << 20).status().code(), StatusCode::invalid_argument);
}

TEST(CompressTest, RandomMutationsNeverCrash) {
  const std::string compressed = compress(mixed_bytes(20'000, 11));
  std::mt19937_64 random(20261122);
  for (int round = 0; round < 2000; ++round) {
    std::string mutated = compressed;
    for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
      mutated[random() % mutated.size()] = static_cast<char>(random());
    }
    auto result = decompress(mutated, 1 << 20);
    if (result.is_ok()) {
      EXPECT_LE(result->size(), size_t{1} << 20);
    }
  }
}

}  // namespace
}  // namespace roster::gossip::wire
