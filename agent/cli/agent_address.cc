#include "agent/cli/agent_address.h"

#include <cstdlib>

namespace roster::cli {
namespace {

std::string first_set(const std::string& flag_value, const EnvLookup& env, const char* roster_name,
                      const char* consul_name, const std::string& fallback) {
  if (!flag_value.empty()) return flag_value;
  if (auto value = env(roster_name)) return *value;
  if (auto value = env(consul_name)) return *value;
  return fallback;
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

std::string resolve_http_addr(const std::string& flag_value, const EnvLookup& env) {
  std::string address = first_set(flag_value, env, "ROSTER_HTTP_ADDR", "CONSUL_HTTP_ADDR", "127.0.0.1:8500");
  if (address.find("://") == std::string::npos) address = "http://" + address;
  while (!address.empty() && address.back() == '/') address.pop_back();
  return address;
}

std::string resolve_token(const std::string& flag_value, const EnvLookup& env) {
  return first_set(flag_value, env, "ROSTER_HTTP_TOKEN", "CONSUL_HTTP_TOKEN", "");
}

}  // namespace roster::cli
