#include "agent/gossip/wire/framing.h"

#include <gtest/gtest.h>

#include <vector>

namespace roster::gossip::wire {
namespace {

// Feeds `stream` in pieces of `piece` bytes, draining after each.
std::vector<std::string> read_all(FrameReader& reader, std::string_view stream, size_t piece) {
  std::vector<std::string> frames;
  while (!stream.empty()) {
    const size_t take = std::min(piece, stream.size());
    EXPECT_TRUE(reader.feed(stream.substr(0, take)).is_ok());
    stream.remove_prefix(take);
    while (true) {
      auto frame_payload = reader.next();
      EXPECT_TRUE(frame_payload.is_ok());
      if (!frame_payload.is_ok() || !frame_payload->has_value()) break;
      frames.push_back(std::move(**frame_payload));
    }
  }
  return frames;
}

TEST(FramingTest, FrameIsBigEndianLengthThenPayload) {
  EXPECT_EQ(frame("abc"), std::string("\x00\x00\x00\x03" "abc", 7));
  EXPECT_EQ(frame(std::string(0x01020304 & 0xffff, 'x')).substr(0, 4), std::string("\x00\x00\x03\x04", 4));
}

TEST(FramingTest, ReassemblesFramesSplitAtEveryPieceSize) {
  const std::vector<std::string> payloads = {"push", "", std::string(300, 'p'), "pull"};
  std::string stream;
  for (const auto& payload : payloads) stream += frame(payload);
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    FrameReader reader(1024);
    EXPECT_EQ(read_all(reader, stream, piece), payloads) << "piece " << piece;
    EXPECT_TRUE(reader.at_frame_boundary());
  }
}

TEST(FramingTest, PartialFrameWaitsForMore) {
  FrameReader reader(1024);
  const std::string bytes = frame("hello");
  ASSERT_TRUE(reader.feed(bytes.substr(0, 6)).is_ok());
  auto pending = reader.next();
  ASSERT_TRUE(pending.is_ok());
  EXPECT_FALSE(pending->has_value());
  EXPECT_FALSE(reader.at_frame_boundary());
  ASSERT_TRUE(reader.feed(bytes.substr(6)).is_ok());
  auto done = reader.next();
  ASSERT_TRUE(done.is_ok() && done->has_value());
  EXPECT_EQ(**done, "hello");
}

TEST(FramingTest, OversizedFrameIsRefusedBeforeItsBodyAndTheErrorSticks) {
  FrameReader reader(100);
  EXPECT_TRUE(reader.feed(frame(std::string(100, 'x'))).is_ok());
  auto full = reader.next();
  ASSERT_TRUE(full.is_ok() && full->has_value());
  EXPECT_EQ((*full)->size(), 100u);
  Status status = reader.feed(std::string("\x00\x00\x00\x65", 4) + std::string(101, 'y'));  // 101 announced
  EXPECT_EQ(status.code(), StatusCode::too_large);
  EXPECT_NE(status.message().find("101"), std::string::npos);
  EXPECT_LE(reader.buffered(), kFrameHeaderBytes);  // the body was never buffered
  EXPECT_EQ(reader.next().status().code(), StatusCode::too_large);
  EXPECT_EQ(reader.feed("more").code(), StatusCode::too_large);
}

TEST(FramingTest, OversizedHeaderSplitAcrossFeedsIsRefused) {
  FrameReader reader(1 << 20);
  ASSERT_TRUE(reader.feed(std::string("\xff\xff", 2)).is_ok());
  EXPECT_EQ(reader.feed(std::string("\xff\xff" "body", 6)).code(), StatusCode::too_large);
  EXPECT_LE(reader.buffered(), kFrameHeaderBytes);
}

TEST(FramingTest, OversizedFrameBehindAGoodOneSurfacesAfterIt) {
  FrameReader reader(10);
  ASSERT_TRUE(reader.feed(frame("ok") + std::string("\x00\x00\x10\x00", 4)).is_ok());
  auto first = reader.next();
  ASSERT_TRUE(first.is_ok() && first->has_value());
  EXPECT_EQ(**first, "ok");
  EXPECT_EQ(reader.next().status().code(), StatusCode::too_large);
}

}  // namespace
}  // namespace roster::gossip::wire
