#pragma once

// Api.Forward's payloads (proto/forward.proto): an HTTP request and its
// response, whole. Pure functions; protobuf stays in forward_codec.cc.
// Decoding is for untrusted bytes: a refusal is invalid_argument with words.

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/http/http_types.h"
#include "common/status.h"

namespace roster::rpc {

inline constexpr const char* kForwardMethod = "Api.Forward";

// The request's hop count travels in its headers (http::kForwardHopsHeaderName).
std::string encode_forwarded_request(const http::HttpRequest& request);
Result<http::HttpRequest> decode_forwarded_request(std::string_view bytes);
std::string encode_forwarded_response(const http::HttpResponse& response);
Result<http::HttpResponse> decode_forwarded_response(std::string_view bytes);

}  // namespace roster::rpc
