#include "agent/rpc/forward_codec.h"

#include "forward.pb.h"

namespace roster::rpc {

std::string encode_forwarded_request(const http::HttpRequest& request) {
  proto::ForwardedRequest message;
  message.set_method(request.method);
  message.set_path(request.path);
  for (const auto& [name, value] : request.query) {
    auto* pair = message.add_query();
    pair->set_name(name);
    pair->set_value(value);
  }
  for (const auto& [name, value] : request.headers) {
    auto* pair = message.add_headers();
    pair->set_name(name);
    pair->set_value(value);
  }
  message.set_body(request.body);
  return message.SerializeAsString();
}

Result<http::HttpRequest> decode_forwarded_request(std::string_view bytes) {
  proto::ForwardedRequest message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::invalid_argument("forwarded request: does not parse");
  }
  if (message.method().empty() || message.path().empty() || message.path().front() != '/') {
    return Status::invalid_argument("forwarded request: no method or no absolute path");
  }
  http::HttpRequest out;
  out.method = message.method();
  out.path = message.path();
  for (const auto& pair : message.query()) out.query.emplace_back(pair.name(), pair.value());
  for (const auto& pair : message.headers()) out.headers[pair.name()] = pair.value();
  out.body = message.body();
  return out;
}

std::string encode_forwarded_response(const http::HttpResponse& response) {
  proto::ForwardedResponse message;
  message.set_status(static_cast<uint32_t>(response.status));
  message.set_content_type(response.content_type);
  for (const auto& [name, value] : response.headers) {
    auto* pair = message.add_headers();
    pair->set_name(name);
    pair->set_value(value);
  }
  message.set_body(response.body);
  return message.SerializeAsString();
}

Result<http::HttpResponse> decode_forwarded_response(std::string_view bytes) {
  proto::ForwardedResponse message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::invalid_argument("forwarded response: does not parse");
  }
  if (message.status() < 100 || message.status() > 599) {
    return Status::invalid_argument("forwarded response: status " + std::to_string(message.status()));
  }
  http::HttpResponse out;
  out.status = static_cast<int>(message.status());
  out.content_type = message.content_type();
  for (const auto& pair : message.headers()) out.headers.emplace_back(pair.name(), pair.value());
  out.body = message.body();
  return out;
}

}  // namespace roster::rpc
