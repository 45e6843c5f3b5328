#pragma once

// The CLI's view of one agent's HTTP API: adds the ACL token, turns non-2xx
// answers into Status values with the agent's own message, and parses JSON.

#include <chrono>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/http_client.h"
#include "common/status.h"

namespace roster::cli {

class AgentApi {
 public:
  // `base_url` as returned by resolve_http_addr(); an empty `token` sends none.
  AgentApi(std::string base_url, std::string token,
           std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const std::string& base_url() const { return base_url_; }

  // One request; any HTTP status is a successful Result (see http_request).
  Result<HttpResponse> send(const std::string& method, const std::string& path_and_query,
                            const std::string& body = "", const std::string& content_type = "") const;

  // Sends a request and parses a 2xx JSON answer. Errors: the transport's
  // (unavailable, invalid_argument); for other statuses not_found (404),
  // permission_denied (401/403), invalid_argument (400), conflict (409),
  // unavailable (5xx), internal (anything else, or a body that is not JSON),
  // each carrying "Unexpected response code: N (agent's message)".
  Result<nlohmann::json> json_request(const std::string& method, const std::string& path_and_query,
                                      const std::string& body = "") const;
  Result<nlohmann::json> get_json(const std::string& path_and_query) const;

 private:
  std::string base_url_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

// The Status a non-2xx response stands for, as described on json_request().
Status status_from_response(const HttpResponse& response);

}  // namespace roster::cli
