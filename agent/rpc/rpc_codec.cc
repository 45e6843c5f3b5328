#include "agent/rpc/rpc_codec.h"

#include <cassert>
#include <limits>

#include "raft.pb.h"
#include "rpc.pb.h"

namespace roster::rpc {

namespace {

constexpr auto kLastStatusCode = static_cast<uint32_t>(StatusCode::not_leader);

std::string frame_of(std::string_view cluster_id, proto::ServerFrameKind kind, std::string payload) {
  proto::ServerFrame frame;
  frame.set_cluster_id(std::string(cluster_id));
  frame.set_kind(kind);
  frame.set_payload(std::move(payload));
  const size_t size = frame.ByteSizeLong();
  assert(size <= std::numeric_limits<uint32_t>::max());
  const auto length = static_cast<uint32_t>(size);
  std::string out;
  out.reserve(4 + size);
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  frame.AppendToString(&out);
  return out;
}

// Status has no public constructor from a code: the wire's code goes through
// its factory so a decoded Status is indistinguishable from the server's.
Status status_from_code(StatusCode code, std::string message) {
  switch (code) {
    case StatusCode::invalid_argument: return Status::invalid_argument(std::move(message));
    case StatusCode::not_found: return Status::not_found(std::move(message));
    case StatusCode::conflict: return Status::conflict(std::move(message));
    case StatusCode::permission_denied: return Status::permission_denied(std::move(message));
    case StatusCode::too_large: return Status::too_large(std::move(message));
    case StatusCode::unavailable: return Status::unavailable(std::move(message));
    case StatusCode::internal: return Status::internal(std::move(message));
    case StatusCode::not_leader: return Status::not_leader(std::move(message));
    case StatusCode::ok: break;
  }
  return Status::ok();
}

bool fits_int(std::string_view bytes) { return bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()); }

}  // namespace

std::string encode_request_frame(std::string_view cluster_id, const Request& request) {
  proto::RpcRequest body;
  body.set_call_id(request.call_id);
  body.set_method(request.method);
  body.set_from_node(request.from_node);
  body.set_payload(request.payload);
  return frame_of(cluster_id, proto::SERVER_FRAME_KIND_RPC_REQUEST, body.SerializeAsString());
}

std::string encode_response_frame(std::string_view cluster_id, const Response& response) {
  proto::RpcResponse body;
  body.set_call_id(response.call_id);
  body.set_code(static_cast<uint32_t>(response.status.code()));
  if (response.status.is_ok()) {
    body.set_payload(response.payload);
  } else {
    // The decoder refuses longer; a shorter message still says what failed.
    body.set_message(response.status.message().substr(0, kMaxStatusMessageBytes));
  }
  return frame_of(cluster_id, proto::SERVER_FRAME_KIND_RPC_RESPONSE, body.SerializeAsString());
}

size_t frame_body_bytes(const std::string& frame) { return frame.size() < 4 ? 0 : frame.size() - 4; }

Result<Request> decode_request(std::string_view payload) {
  proto::RpcRequest body;
  if (!fits_int(payload) || !body.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::invalid_argument("not an RPC request");
  }
  if (body.call_id() == 0) return Status::invalid_argument("RPC request without a call ID");
  if (body.method().empty()) return Status::invalid_argument("RPC request without a method");
  if (body.method().size() > kMaxMethodBytes) {
    return Status::invalid_argument("RPC method name of " + std::to_string(body.method().size()) +
                                    " bytes is over the limit of " + std::to_string(kMaxMethodBytes));
  }
  if (body.from_node().size() > kMaxNodeNameBytes) {
    return Status::invalid_argument("RPC caller's node name of " + std::to_string(body.from_node().size()) +
                                    " bytes is over the limit of " + std::to_string(kMaxNodeNameBytes));
  }
  Request request;
  request.call_id = body.call_id();
  request.method = std::move(*body.mutable_method());
  request.from_node = std::move(*body.mutable_from_node());
  request.payload = std::move(*body.mutable_payload());
  return request;
}

Result<Response> decode_response(std::string_view payload) {
  proto::RpcResponse body;
  if (!fits_int(payload) || !body.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::invalid_argument("not an RPC response");
  }
  if (body.call_id() == 0) return Status::invalid_argument("RPC response without a call ID");
  if (body.code() > kLastStatusCode) {
    return Status::invalid_argument("RPC response with unknown status code " + std::to_string(body.code()));
  }
  if (body.message().size() > kMaxStatusMessageBytes) {
    return Status::invalid_argument("RPC response with an error message of " + std::to_string(body.message().size()) +
                                    " bytes");
  }
  Response response;
  response.call_id = body.call_id();
  const auto code = static_cast<StatusCode>(body.code());
  if (code == StatusCode::ok) {
    response.payload = std::move(*body.mutable_payload());
  } else {
    response.status = status_from_code(code, std::move(*body.mutable_message()));
  }
  return response;
}

}  // namespace roster::rpc
