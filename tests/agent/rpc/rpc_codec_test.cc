// RPC frames (agent/rpc/rpc_codec.h): what is encoded decodes back through
// the Raft frame reader with serve_rpc, and each bad field is refused.

#include "agent/rpc/rpc_codec.h"

#include <gtest/gtest.h>

#include "agent/raft/wire_codec.h"
#include "raft.pb.h"
#include "rpc.pb.h"

namespace roster::rpc {
namespace {

const std::string kCluster = "dc1";

raft::DecodedFrame read_one(const std::string& frame, bool serve_rpc = true) {
  raft::FrameReader reader(kCluster, raft::kDefaultMaxFrameBytes, serve_rpc);
  reader.feed(frame);
  auto decoded = reader.next();
  EXPECT_TRUE(decoded.has_value());
  EXPECT_FALSE(reader.next().has_value());
  return decoded ? std::move(*decoded) : raft::DecodedFrame{};
}

TEST(RpcCodecTest, ARequestRoundTrips) {
  const Request request{7, "Catalog.Apply", "web-1", std::string("\0\xff payload", 10)};
  raft::DecodedFrame frame = read_one(encode_request_frame(kCluster, request));
  ASSERT_EQ(frame.error, raft::FrameError::none) << frame.detail;
  EXPECT_EQ(frame.kind, raft::FrameKind::rpc_request);
  EXPECT_EQ(frame.from, raft::kNoServer);
  auto decoded = decode_request(frame.rpc_payload);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, request);
}

TEST(RpcCodecTest, ResponsesRoundTripWithTheirStatusUnchanged) {
  const Response ok{9, Status::ok(), "result"};
  const Response error{10, Status::not_leader("leader is 127.0.0.1:8300"), ""};
  const Response not_utf8{11, Status::not_found(std::string("key \xff\xfe missing")), ""};
  for (const Response& response : {ok, error, not_utf8}) {
    raft::DecodedFrame frame = read_one(encode_response_frame(kCluster, response));
    ASSERT_EQ(frame.error, raft::FrameError::none) << frame.detail;
    EXPECT_EQ(frame.kind, raft::FrameKind::rpc_response);
    auto decoded = decode_response(frame.rpc_payload);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, response);
  }
}

TEST(RpcCodecTest, WithoutServeRpcTheFramesAreOfAnUnknownKind) {
  const std::string frame = encode_request_frame(kCluster, Request{1, "m", "n", ""});
  EXPECT_EQ(read_one(frame, /*serve_rpc=*/false).error, raft::FrameError::unknown_kind);
  raft::FrameReader foreign("dc2", raft::kDefaultMaxFrameBytes, /*serve_rpc=*/true);
  foreign.feed(frame);
  EXPECT_EQ(foreign.next()->error, raft::FrameError::foreign_cluster);
}

TEST(RpcCodecTest, BadRequestsAreRefusedWithAReason) {
  auto payload_of = [](const Request& request) {
    proto::RpcRequest body;
    body.set_call_id(request.call_id);
    body.set_method(request.method);
    body.set_from_node(request.from_node);
    return body.SerializeAsString();
  };
  EXPECT_EQ(decode_request(std::string("\xff\xff\xff", 3)).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(decode_request(payload_of({0, "m", "n", ""})).status().message(), "RPC request without a call ID");
  EXPECT_EQ(decode_request(payload_of({1, "", "n", ""})).status().message(), "RPC request without a method");
  EXPECT_FALSE(decode_request(payload_of({1, std::string(kMaxMethodBytes + 1, 'm'), "n", ""})).is_ok());
  EXPECT_FALSE(decode_request(payload_of({1, "m", std::string(kMaxNodeNameBytes + 1, 'n'), ""})).is_ok());
  EXPECT_TRUE(decode_request(payload_of({1, std::string(kMaxMethodBytes, 'm'), "", ""})).is_ok());
}

TEST(RpcCodecTest, BadResponsesAreRefusedWithAReason) {
  proto::RpcResponse body;
  body.set_call_id(0);
  EXPECT_EQ(decode_response(body.SerializeAsString()).status().message(), "RPC response without a call ID");
  body.set_call_id(1);
  body.set_code(99);
  EXPECT_EQ(decode_response(body.SerializeAsString()).status().message(), "RPC response with unknown status code 99");
  EXPECT_EQ(decode_response("\x08").status().code(), StatusCode::invalid_argument);
}

TEST(RpcCodecTest, AnOverLongErrorMessageIsCutToWhatTheDecoderTakes) {
  const Response response{3, Status::internal(std::string(kMaxStatusMessageBytes + 100, 'x')), ""};
  raft::DecodedFrame frame = read_one(encode_response_frame(kCluster, response));
  auto decoded = decode_response(frame.rpc_payload);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->status.code(), StatusCode::internal);
  EXPECT_EQ(decoded->status.message().size(), kMaxStatusMessageBytes);
}

}  // namespace
}  // namespace roster::rpc
