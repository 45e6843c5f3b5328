#include "agent/cli/agent_api.h"

#include <map>

#include <nlohmann/json.hpp>

namespace roster::cli {
namespace {

// Agents answer errors with a short plain-text body; keep error lines
// readable if something answers with a whole page instead.
std::string trimmed_body(const std::string& body) {
  constexpr size_t kMaxLength = 512;
  std::string text = body.size() > kMaxLength ? body.substr(0, kMaxLength) + "..." : body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

AgentApi::AgentApi(std::string base_url, std::string token, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), token_(std::move(token)), timeout_(timeout) {}

Result<HttpResponse> AgentApi::send(const std::string& method, const std::string& path_and_query,
                                    const std::string& body, const std::string& content_type) const {
  std::map<std::string, std::string> headers;
  if (!token_.empty()) headers["X-Consul-Token"] = token_;
  if (!content_type.empty()) headers["Content-Type"] = content_type;
  return http_request(method, base_url_, path_and_query, body, timeout_, headers);
}

Result<nlohmann::json> AgentApi::json_request(const std::string& method, const std::string& path_and_query,
                                              const std::string& body) const {
  Result<HttpResponse> response = send(method, path_and_query, body, body.empty() ? "" : "application/json");
  if (!response.is_ok()) return response.status();
  if (response->status < 200 || response->status > 299) return status_from_response(*response);
  nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::internal("the agent answered " + method + " " + path_and_query +
                            " with a body that is not JSON: " + trimmed_body(response->body));
  }
  return parsed;
}

Result<nlohmann::json> AgentApi::get_json(const std::string& path_and_query) const {
  return json_request("GET", path_and_query);
}

Status status_from_response(const HttpResponse& response) {
  std::string message = "Unexpected response code: " + std::to_string(response.status);
  const std::string body = trimmed_body(response.body);
  if (!body.empty()) message += " (" + body + ")";
  switch (response.status) {
    case 400: return Status::invalid_argument(message);
    case 401:
    case 403: return Status::permission_denied(message);
    case 404: return Status::not_found(message);
    case 409: return Status::conflict(message);
    default: break;
  }
  if (response.status >= 500) return Status::unavailable(message);
  return Status::internal(message);
}

}  // namespace roster::cli
