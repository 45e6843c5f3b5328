#pragma once

// Services and checks as an agent's operator defines them: in config files,
// or through /v1/agent/service/register and /v1/agent/check/register. The agent
// runs the checks and keeps the catalog in step with these definitions.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace roster::local {

struct CheckDefinition {
  std::string id;     // defaults to the name (or "service:<service id>" for a service's check)
  std::string name;
  std::string notes;
  std::string service_id;  // empty for a node-level check
  std::string status;      // initial status; empty means critical (Consul's default)

  // Exactly one kind is set.
  std::optional<std::chrono::nanoseconds> ttl;
  std::string http;                 // URL for an HTTP check
  std::string http_method = "GET";
  std::map<std::string, std::vector<std::string>> http_headers;
  bool tls_skip_verify = false;
  std::string tcp;                  // host:port for a TCP check
  std::vector<std::string> args;    // argv for a script check

  std::chrono::nanoseconds interval{std::chrono::seconds(10)};
  std::chrono::nanoseconds timeout{std::chrono::seconds(10)};
  // Remove the check's service once the check has been critical this long.
  std::optional<std::chrono::nanoseconds> deregister_critical_service_after;

  // "ttl", "http", "tcp", "script", or "" when no kind is set.
  std::string type() const {
    if (ttl) return "ttl";
    if (!http.empty()) return "http";
    if (!tcp.empty()) return "tcp";
    if (!args.empty()) return "script";
    return "";
  }
  bool operator==(const CheckDefinition&) const = default;
};

struct ServiceDefinition {
  std::string id;  // defaults to the name
  std::string name;
  std::vector<std::string> tags;
  std::string address;
  int port = 0;
  std::map<std::string, std::string> meta;
  bool enable_tag_override = false;
  std::vector<CheckDefinition> checks;
  bool operator==(const ServiceDefinition&) const = default;
};

}  // namespace roster::local
