#pragma once

// Calling the HTTP API as a function in tests: a request from a method and a
// target, the answer (or the wait it parks on), and a header of the answer.
// No sockets.

#include <gtest/gtest.h>

#include <string>

#include "agent/http/api.h"

namespace roster::http::api_calls {

inline HttpRequest make_request(const std::string& method, const std::string& target, const std::string& body = "") {
  HttpRequest request;
  request.method = method;
  request.headers["host"] = "127.0.0.1:8500";
  EXPECT_TRUE(parse_target(target, request.path, request.query)) << target;
  request.body = body;
  return request;
}

inline HandleResult call_api(Api& api, const std::string& method, const std::string& target,
                             const std::string& body = "") {
  BlockingState blocking;
  return api.handle(make_request(method, target, body), blocking);
}

// The answer of a call that must not park.
inline HttpResponse respond_now(Api& api, const std::string& method, const std::string& target,
                                const std::string& body = "") {
  HandleResult result = call_api(api, method, target, body);
  EXPECT_FALSE(result.wait.has_value()) << target << " blocked unexpectedly";
  return result.response;
}

inline std::string header_of(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

}  // namespace roster::http::api_calls
