#pragma once

// A small blocking HTTP/1.1 client for talking to a Roster agent's HTTP API
// (the CLI, roster-deploy, tests). It hides cpprestsdk: nothing heavy is
// included from here.

#include <chrono>
#include <map>
#include <string>

#include "common/status.h"

namespace roster {

struct HttpResponse {
  int status = 0;
  std::string body;  // raw bytes, no charset conversion
  // Header names as the server sent them; one value per name (repeated
  // headers are joined with ", ").
  std::map<std::string, std::string> headers;
};

// Sends one request and waits for the whole response.
//
// `base_url` is a scheme and authority ("http://127.0.0.1:8500"); a missing
// scheme means http. `path_and_query` starts with '/' and must already be
// percent-encoded. `headers` are sent as given; a "Content-Type" entry sets
// the body's type (default application/octet-stream). No proxy is used: the
// agent is normally on loopback.
//
// Any HTTP status, 4xx and 5xx included, is a successful Result: the caller
// decides what a status means. Errors:
//   invalid_argument  base_url or path_and_query cannot be parsed;
//   unavailable       the agent cannot be reached ("cannot reach the agent at
//                     http://127.0.0.1:8500: connection refused; is `roster
//                     agent` running?") or it did not answer within `timeout`.
// Thread-safe: each call is independent.
Result<HttpResponse> http_request(const std::string& method, const std::string& base_url,
                                  const std::string& path_and_query, const std::string& body = "",
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                  const std::map<std::string, std::string>& headers = {});

}  // namespace roster
