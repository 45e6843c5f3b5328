// The Raft frame codec: every message type round-trips with every field set,
// and each kind of bad input is refused with its own FrameError.

#include "agent/raft/wire_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raft.pb.h"

namespace roster::raft {
namespace {

const std::string kCluster = "cluster-a";

// Every field set to something other than its default.
Message full_message(MessageType type) {
  Message message;
  message.type = type;
  message.from = 3;
  message.to = 7;
  message.term = 12;
  message.log_index = 40;
  message.log_term = 11;
  message.entries = {
      Entry{11, 41, EntryType::command, std::string("set x=\0\xff", 8)},
      Entry{12, 42, EntryType::no_op, ""},
      Entry{12, 43, EntryType::configuration, "servers..."},
  };
  message.leader_commit = 39;
  message.leadership_transfer = true;
  message.success = true;
  message.match_index = 43;
  message.conflict_index = 17;
  message.conflict_term = 9;
  message.read_round = 5;
  message.snapshot_meta.last_index = 30;
  message.snapshot_meta.last_term = 10;
  message.snapshot_meta.configuration.servers = {
      Server{3, "127.0.1.3:8300", true},
      Server{7, "127.0.1.7:8300", true},
      Server{9, "[::1]:8300", false},
  };
  message.snapshot_offset = 1 << 20;
  message.snapshot_chunk = std::string("chunk\0bytes", 11);
  message.snapshot_done = true;
  return message;
}

std::vector<DecodedFrame> read_all(FrameReader& reader) {
  std::vector<DecodedFrame> frames;
  while (auto frame = reader.next()) frames.push_back(std::move(*frame));
  return frames;
}

std::string length_prefix(uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
          static_cast<char>(length)};
}

std::string prefixed(const std::string& payload) {
  return length_prefix(static_cast<uint32_t>(payload.size())) + payload;
}

// A frame built by hand, for what encode_frame would never produce.
std::string raw_frame(const std::string& cluster, uint64_t from, int kind, const std::string& payload) {
  proto::ServerFrame frame;
  frame.set_cluster_id(cluster);
  frame.set_from(from);
  frame.set_kind(static_cast<proto::ServerFrameKind>(kind));
  frame.set_payload(payload);
  return prefixed(frame.SerializeAsString());
}

std::string raft_payload(const Message& message) {
  // The envelope's payload, as encode_frame writes it.
  std::string frame = encode_frame(kCluster, message);
  proto::ServerFrame parsed;
  EXPECT_TRUE(parsed.ParseFromString(frame.substr(kFrameHeaderBytes)));
  return parsed.payload();
}

DecodedFrame decode_one(const std::string& bytes) {
  FrameReader reader(kCluster, kDefaultMaxFrameBytes);
  reader.feed(bytes);
  auto frames = read_all(reader);
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? DecodedFrame{} : frames.front();
}

TEST(RaftWireCodec, EveryMessageTypeRoundTripsWithAllFields) {
  for (int type = 0; type <= static_cast<int>(MessageType::timeout_now); ++type) {
    const Message message = full_message(static_cast<MessageType>(type));
    const std::string frame = encode_frame(kCluster, message);
    DecodedFrame decoded = decode_one(frame);
    ASSERT_EQ(decoded.error, FrameError::none) << message_type_name(message.type) << ": " << decoded.detail;
    EXPECT_EQ(decoded.from, 3u);
    EXPECT_EQ(decoded.message, message) << message_type_name(message.type);
  }
}

TEST(RaftWireCodec, AnEmptyMessageRoundTrips) {
  Message heartbeat;
  heartbeat.from = 1;
  DecodedFrame decoded = decode_one(encode_frame(kCluster, heartbeat));
  ASSERT_EQ(decoded.error, FrameError::none) << decoded.detail;
  EXPECT_EQ(decoded.message, heartbeat);
}

TEST(RaftWireCodec, FramesArriveInAnyPieces) {
  std::string stream;
  std::vector<Message> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(full_message(static_cast<MessageType>(i)));
    stream += encode_frame(kCluster, sent.back());
  }
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{100}, stream.size()}) {
    FrameReader reader(kCluster, kDefaultMaxFrameBytes);
    std::vector<Message> received;
    for (size_t at = 0; at < stream.size(); at += piece) {
      reader.feed(std::string_view(stream).substr(at, piece));
      for (DecodedFrame& frame : read_all(reader)) {
        ASSERT_EQ(frame.error, FrameError::none) << frame.detail;
        received.push_back(std::move(frame.message));
      }
    }
    EXPECT_EQ(received, sent) << "pieces of " << piece;
    EXPECT_FALSE(reader.finish().has_value());
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(RaftWireCodec, AnOversizedLengthIsRefusedBeforeItsBody) {
  FrameReader reader(kCluster, 1024);
  reader.feed(length_prefix(1025));
  ASSERT_TRUE(reader.failed());
  reader.feed(std::string(4096, 'x'));  // the body is not buffered
  EXPECT_EQ(reader.buffered(), 0u);
  auto frame = reader.next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->error, FrameError::oversized);
  EXPECT_NE(frame->detail.find("1025"), std::string::npos);
  EXPECT_FALSE(reader.next().has_value());  // reported once; the stream is dead
  EXPECT_FALSE(reader.finish().has_value());

  FrameReader largest(kCluster, kDefaultMaxFrameBytes);
  largest.feed(length_prefix(0xffffffff));
  EXPECT_EQ(largest.next()->error, FrameError::oversized);
}

TEST(RaftWireCodec, AnOversizedFrameAfterAGoodOneIsCaughtWithoutBufferingIt) {
  Message message;
  message.from = 2;
  FrameReader reader(kCluster, 1024);
  reader.feed(encode_frame(kCluster, message) + length_prefix(5000));
  auto frames = read_all(reader);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].error, FrameError::none);
  EXPECT_EQ(frames[1].error, FrameError::oversized);
}

TEST(RaftWireCodec, AStreamThatStopsInsideAFrameIsTruncated) {
  const std::string frame = encode_frame(kCluster, full_message(MessageType::append_entries));
  for (size_t keep : {size_t{2}, size_t{4}, frame.size() - 1}) {
    FrameReader reader(kCluster, kDefaultMaxFrameBytes);
    reader.feed(frame.substr(0, keep));
    EXPECT_TRUE(read_all(reader).empty());
    auto left = reader.finish();
    ASSERT_TRUE(left.has_value()) << keep;
    EXPECT_EQ(left->error, FrameError::truncated);
  }
}

TEST(RaftWireCodec, GarbageIsMalformedAndTheStreamGoesOn) {
  Message good;
  good.from = 4;
  FrameReader reader(kCluster, kDefaultMaxFrameBytes);
  reader.feed(prefixed("\xff\xff\xff garbage") + encode_frame(kCluster, good));
  auto frames = read_all(reader);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].error, FrameError::malformed);
  EXPECT_EQ(frames[1].error, FrameError::none);
  EXPECT_EQ(frames[1].message, good);
  // A frame whose envelope parses but whose payload is no Raft message.
  EXPECT_EQ(decode_one(raw_frame(kCluster, 4, 1, "\xff\xff\xff")).error, FrameError::malformed);
}

TEST(RaftWireCodec, AFrameFromAnotherClusterIsRefused) {
  DecodedFrame decoded = decode_one(encode_frame("cluster-b\n\x01", full_message(MessageType::request_vote)));
  EXPECT_EQ(decoded.error, FrameError::foreign_cluster);
  EXPECT_EQ(decoded.from, 3u);
  // The foreign ID reaches the log escaped.
  EXPECT_NE(decoded.detail.find("cluster-b\\x0a\\x01"), std::string::npos) << decoded.detail;
}

TEST(RaftWireCodec, AnUnknownKindIsRefused) {
  Message message;
  message.from = 3;
  for (int kind : {0, 2, 77}) {
    DecodedFrame decoded = decode_one(raw_frame(kCluster, 3, kind, raft_payload(message)));
    EXPECT_EQ(decoded.error, FrameError::unknown_kind) << kind;
  }
}

TEST(RaftWireCodec, InvalidMessagesAreMalformed) {
  auto refused = [](proto::RaftMessage wire, uint64_t envelope_from) {
    return decode_one(raw_frame(kCluster, envelope_from, 1, wire.SerializeAsString()));
  };
  proto::RaftMessage base;
  base.set_type(4);
  base.set_from(3);
  base.set_term(5);
  base.set_log_index(10);
  ASSERT_EQ(refused(base, 3).error, FrameError::none);

  proto::RaftMessage bad = base;
  bad.set_type(9);  // past timeout_now
  EXPECT_EQ(refused(bad, 3).error, FrameError::malformed);

  bad = base;
  bad.set_from(0);
  EXPECT_EQ(refused(bad, 0).error, FrameError::malformed);

  EXPECT_EQ(refused(base, 4).error, FrameError::malformed);  // envelope and message disagree

  auto with_entry = [&](uint64_t term, uint64_t index, uint32_t type) {
    proto::RaftMessage wire = base;
    proto::RaftEntry* entry = wire.add_entries();
    entry->set_term(term);
    entry->set_index(index);
    entry->set_type(type);
    return wire;
  };
  EXPECT_EQ(refused(with_entry(5, 11, 2), 3).error, FrameError::none);
  EXPECT_EQ(refused(with_entry(5, 11, 3), 3).error, FrameError::malformed);  // unknown entry type
  EXPECT_EQ(refused(with_entry(5, 12, 0), 3).error, FrameError::malformed);  // leaves a gap
  EXPECT_EQ(refused(with_entry(5, 10, 0), 3).error, FrameError::malformed);  // overlaps log_index
  EXPECT_EQ(refused(with_entry(6, 11, 0), 3).error, FrameError::malformed);  // term above the message's

  proto::RaftMessage backwards = with_entry(5, 11, 0);
  proto::RaftEntry* older = backwards.add_entries();
  older->set_term(4);
  older->set_index(12);
  EXPECT_EQ(refused(backwards, 3).error, FrameError::malformed);

  proto::RaftMessage overflow = with_entry(5, 0, 0);
  overflow.set_log_index(UINT64_MAX);
  EXPECT_EQ(refused(overflow, 3).error, FrameError::malformed);

  proto::RaftMessage duplicate = base;
  for (int i = 0; i < 2; ++i) duplicate.mutable_snapshot_meta()->mutable_configuration()->add_servers()->set_id(8);
  EXPECT_EQ(refused(duplicate, 3).error, FrameError::malformed);

  proto::RaftMessage anonymous = base;
  anonymous.mutable_snapshot_meta()->mutable_configuration()->add_servers()->set_address("127.0.0.1:8300");
  EXPECT_EQ(refused(anonymous, 3).error, FrameError::malformed);
}

TEST(RaftWireCodec, ErrorsHaveNames) {
  EXPECT_STREQ(frame_error_name(FrameError::oversized), "oversized");
  EXPECT_STREQ(frame_error_name(FrameError::foreign_cluster), "foreign_cluster");
  EXPECT_STREQ(frame_error_name(FrameError::unknown_kind), "unknown_kind");
}

}  // namespace
}  // namespace roster::raft
